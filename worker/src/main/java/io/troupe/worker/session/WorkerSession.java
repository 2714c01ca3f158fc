package io.troupe.worker.session;

import io.troupe.data.source.DataSource;
import io.troupe.errors.Failures;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.allreduce.RingAdmission;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.job.BatchPlan;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.job.protocol.FormRing;
import io.troupe.worker.job.protocol.JoinJob;
import io.troupe.worker.job.protocol.RunStep;
import io.troupe.worker.job.protocol.StepDone;
import io.troupe.worker.plane.DataPlane;
import io.troupe.worker.plane.PekkoDataPlane;
import io.troupe.worker.plane.RingLink;
import io.troupe.worker.plane.StateExchange;
import io.troupe.worker.run.ModelExport;
import io.troupe.worker.train.TrainSettings;
import io.troupe.worker.metrics.TroupeMetrics;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One worker's share of one job, and all the blocking work on it: the engines ({@link WorkerJob}),
 * the ring link of the current generation, and the steps applied so far. Not an actor: the
 * worker actor decides what to do and calls these methods, each of which runs on the blocking
 * executor it was given and completes a stage the actor pipes back to itself.
 *
 * <p>Tasks of one session run one at a time, in the order they were asked for, and
 * {@link #close()} frees the engines' native memory only after the running task ends.
 */
public final class WorkerSession implements AutoCloseable {
    /** Ring changes are rare and their cost is a recovery's: each phase logs how long it took. */
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WorkerSession.class);
    private final JoinJob join;
    private final TrainSettings settings;
    private final WorkerJob job;
    private final DataPlane plane;
    private final Executor blocking;
    /** The model and optimizer identity a peer's state must have (as the local trainer writes it). */
    private final String identity;
    private final InetSocketAddress stateAddress;
    private final AtomicReference<RingLink> link = new AtomicReference<>();
    private final AtomicBoolean jobClosed = new AtomicBoolean();
    private CompletableFuture<?> inFlight = CompletableFuture.completedFuture(null);
    private boolean closed;
    /** Optimizer steps applied to this worker's parameters (skipped ones included). */
    private volatile long steps;
    /**
     * Counts changes of this worker's training state (a step, a restore, a DiLoCo revert); the
     * state offered to peers is re-encoded on a probe only when it changed since the last offer.
     * A reserve worker is probed at every re-form, and encoding its unchanged state again made it
     * the last to answer (100-250 ms in the spare-promotion benchmark).
     */
    private long stateVersion;
    private long offeredVersion = -1;
    private volatile double bestValLoss = Double.POSITIVE_INFINITY;
    /** The generation whose first step is still to run (its timings are logged), or -1. */
    private volatile long firstStepOfRing = -1;

    private WorkerSession(JoinJob join, TrainSettings settings, WorkerJob job, DataPlane plane, Executor blocking,
                          InetSocketAddress stateAddress) {
        this.join = join;
        this.settings = settings;
        this.job = job;
        this.plane = plane;
        this.blocking = blocking;
        this.identity = JobSettings.resumeIdentity(settings, job.model().vocabSize());
        this.stateAddress = stateAddress;
    }

    /**
     * Prepares {@code join}: loads the data and checks it is the coordinator's, binds this
     * worker's state server and builds the engines.
     */
    public static CompletionStage<WorkerSession> open(JoinJob join, WorkerSettings worker, DataPlane plane,
                                                      Executor blocking) {
        return CompletableFuture.supplyAsync(() -> call(() -> {
            TrainSettings settings = JobSettings.parse(join.settingsJson());
            Tokenizer tokenizer = Tokenizer.fromJson(join.tokenizerJson());
            InetSocketAddress state = plane.stateExchange().address();
            // The rank only seeds this worker's evaluation samplers and dropout; ring ranks come with FormRing.
            BatchPlan plan = BatchPlan.of(join.globalBatch(), settings.gradAccum(), join.worldSize(), join.rank());
            EngineOptions engine = EngineOptions.cpu(worker.threads()).withDevice(worker.device());
            WorkerJob job = join.finetune() ? FinetuneJobs.open(join, settings, tokenizer, plan, engine)
                    : new WorkerJob(settings, tokenizer, loadData(join, settings, tokenizer), plan, engine,
                            PekkoDataPlane.local(), null);
            try {
                WorkerSession session = new WorkerSession(join, settings, job, plane, blocking, state);
                if (worker.standby()) {
                    // A hot spare offers its state now, while it waits, so that the probe after a
                    // failure finds the offer in place and the spare answers at once.
                    session.offerState();
                    session.warmUpStateFetch();
                    session.warmUpCompute();
                }
                return session;
            } catch (Exception e) {
                job.close();
                throw e;
            }
        }), blocking);
    }

    /**
     * The coordinator's data, opened at its path on this node and checked against its hash;
     * tokenized once per process (embedded workers share it).
     */
    static TokenSplit loadData(JoinJob join, TrainSettings settings, Tokenizer tokenizer) {
        return DataSource.open(Path.of(join.dataPath())).requireSha256(join.dataSha256(), "the coordinator's")
                .withTokenizer(tokenizer, "the coordinator's").split(settings.blockSize());
    }

    /** The job this session prepared. */
    public JoinJob join() {
        return join;
    }

    /** Where peers fetch this worker's state. */
    public InetSocketAddress stateAddress() {
        return stateAddress;
    }

    /** Optimizer steps applied to this worker's parameters; read it while no task runs. */
    public long steps() {
        return steps;
    }

    /**
     * Ends this worker's part in the current ring (closes its link) and offers its state to
     * peers that present {@code stateToken} (the new generation's, from the probe; empty: to
     * nobody); completes with the parameter checksum the coordinator compares, and why the state
     * could not be offered if it could not (the checksum is answered all the same).
     */
    public CompletionStage<Offer> leaveRingAndOffer(String stateToken) {
        return submit(() -> {
            String problem = "";
            long t0 = System.nanoTime();
            try {
                closeLink();
                long closed = System.nanoTime();
                if (!stateToken.isEmpty()) {
                    plane.stateExchange().admit(stateToken); // older generations' tokens are stale from here
                }
                // DiLoCo: the ring is gone, so this round's inner steps are lost; offer the outer state.
                long outer = job.revertToOuterState();
                if (outer >= 0) {
                    steps = outer;
                    stateVersion++;
                }
                long at = steps;
                if (offerState()) {
                    LOG.info("probed: left the ring in {} ms, offered the state of step {} in {} ms", millis(t0, closed),
                            at, millis(closed, System.nanoTime()));
                }
            } catch (Exception e) {
                problem = Failures.rootMessage(e);
            }
            return new Offer(job.parameterChecksum(), problem);
        });
    }

    /** Offers this worker's state to peers unless the offer in place is of the same state; true if it encoded one. */
    private boolean offerState() throws ReductionException {
        if (offeredVersion == stateVersion) {
            return false;
        }
        // Live arrays, not a copy: this runs as a task of this session, so no step runs meanwhile,
        // and the exchange encodes the state into its own bytes before offer returns.
        plane.stateExchange().offer(join.jobId(), steps, job.liveCheckpoint(steps, identity, bestValLoss));
        offeredVersion = stateVersion;
        return true;
    }

    /**
     * A spare fetches its own offered state once, through its own state server, and drops it:
     * the fetch it makes when promoted then runs on loaded classes, compiled code and a warm
     * Pekko TCP path (a first fetch of the small preset's ~10 MB took 160-290 ms, most of a
     * promotion's budget). The token presented is a random one admitted only for this, and
     * replaced by another random one afterwards, so nobody else can fetch in between or after:
     * the coordinator's probe admits the real token. A failure here only costs the warm-up.
     */
    private void warmUpStateFetch() {
        StateExchange exchange = plane.stateExchange();
        try {
            String token = RingAdmission.issue(0).token();
            exchange.admit(token);
            long t0 = System.nanoTime();
            exchange.fetch(stateAddress, join.jobId(), token, steps, identity, job.parameters().length);
            LOG.info("standby: fetched its own offered state once in {} ms (warm-up for a promotion)",
                    millis(t0, System.nanoTime()));
        } catch (Exception e) {
            LOG.warn("standby: the state fetch warm-up failed ({}); a promotion will fetch cold",
                    Failures.rootMessage(e));
        } finally {
            exchange.admit(RingAdmission.issue(0).token()); // a token nobody holds: serve nobody until a probe
        }
    }

    /** A spare runs its training graph once (see {@link WorkerJob#warmUpCompute}); a failure only costs the warm-up. */
    private void warmUpCompute() {
        try {
            double ms = job.warmUpCompute();
            if (ms >= 0) {
                LOG.info("standby: ran the training graph once in {} ms (warm-up for a promotion)", Math.round(ms));
            }
        } catch (Exception e) {
            LOG.warn("standby: the compute warm-up failed ({}); a promotion will compute cold", Failures.rootMessage(e));
        }
    }

    private static long millis(long fromNanos, long toNanos) {
        return Math.round((toNanos - fromNanos) / 1e6);
    }

    /** The answer to a probe: the parameter checksum, and why the state is not offered ("" when it is). */
    public record Offer(long checksum, String problem) {
    }

    /**
     * Takes rank {@code f.rank()} in a new ring: first catches up from the peer it names, if
     * any, then binds this rank's ring server. Completes with the server's address.
     */
    public CompletionStage<InetSocketAddress> joinRing(FormRing f) {
        return submit(() -> {
            long t0 = System.nanoTime();
            if (f.syncPort() > 0) {
                InetSocketAddress peer = new InetSocketAddress(f.syncHost(), f.syncPort());
                var fetched = plane.stateExchange().fetch(peer, join.jobId(), f.stateToken(), f.syncStep(),
                        identity, job.parameters().length);
                long tFetched = System.nanoTime();
                job.restoreState(fetched);
                steps = f.syncStep();
                stateVersion++;
                bestValLoss = job.restoredBestValLoss();
                LOG.info("fetched the state of step {} from {} in {} ms, restored it in {} ms", f.syncStep(), peer,
                        millis(t0, tFetched), millis(tFetched, System.nanoTime()));
            }
            long t1 = System.nanoTime();
            RingLink bound = f.worldSize() == 1 ? PekkoDataPlane.local()
                    : plane.bind(join.jobId(), f.rank(), f.worldSize(), join.wire() == null ? WireFormat.FP32 : join.wire(),
                            new RingAdmission(f.generation(), f.ringToken()));
            closeLink();
            link.set(bound);
            job.useReducer(bound);
            firstStepOfRing = f.generation();
            LOG.info("rank {} of {} in generation {}: ring server bound in {} ms", f.rank(), f.worldSize(),
                    f.generation(), millis(t1, System.nanoTime()));
            return bound.address();
        });
    }

    /** Links this rank to its ring successor. */
    public CompletionStage<Void> connect(InetSocketAddress successor) {
        return submit(() -> {
            RingLink current = link.get();
            if (current == null) {
                throw new IllegalStateException("no ring to connect: this worker holds no rank");
            }
            long t0 = System.nanoTime();
            current.connect(successor);
            LOG.info("linked to the successor at {} in {} ms", successor, millis(t0, System.nanoTime()));
            return null;
        });
    }

    /**
     * Runs step {@code r} on this rank's share of the global batch, then the evaluation and
     * checkpoint it asks for (the checkpoint on rank 0 only).
     */
    public CompletionStage<StepDone> runStep(RunStep r, int rank) {
        return submit(() -> {
            ElasticShare share = new ElasticShare(r.sampleFrom(), r.rows(), r.microBatch(), r.gradAccum(),
                    r.worldSize(), r.globalBatch());
            WorkerJob.StepResult result = job.step(r.step(), r.lr(), share);
            if (firstStepOfRing == r.generation()) {
                firstStepOfRing = -1;
                LOG.info("step {}, the first of generation {}: compute {} ms, all-reduce {} ms", r.step(),
                        r.generation(), Math.round(job.lastComputeMillis()), Math.round(job.lastReduceMillis()));
            }
            long checksum = r.verifyParams() ? job.parameterChecksum() : 0;
            double[] losses = {0, 0};
            if (r.evaluate()) {
                losses = job.evaluate();
                bestValLoss = Math.min(bestValLoss, losses[1]);
            }
            StepDone done = new StepDone(r.jobId(), rank, r.step(), result.loss(), result.gradNorm(), checksum,
                    losses[0], losses[1], r.evaluate() ? 1 : 0, job.lastComputeMillis(), job.lastReduceMillis(),
                    // An fp16 loss-scale overflow is the scaler's (every worker's scaler halved alike),
                    // not a non-finite step for the coordinator's max_nonfinite_steps, as in Trainer.
                    r.generation(), share.sampleFrom(), share.rows(), result.skipped() && !result.overflow(),
                    r.evaluate() ? job.lastMaskedTokens() : Optional.empty(), job.lastExposedReduceMillis());
            if (r.checkpoint() && rank == 0) {
                long saveStart = System.nanoTime();
                // Live arrays, not a copy: the file is written here, inside this step's task, and the
                // session runs its tasks one at a time, so the next step waits for the write.
                new CheckpointStore(Path.of(join.outDir()), settings.keepCheckpoints())
                        .save(job.liveCheckpoint(r.step(), identity, bestValLoss));
                TroupeMetrics.process().checkpointWritten((System.nanoTime() - saveStart) / 1e9);
            }
            steps = r.step();
            stateVersion++;
            return done;
        });
    }

    /**
     * Ends this worker's part in the current ring now, from any thread: a running all-reduce
     * fails at once as a ring failure (the step is retried by the next ring), and a step whose
     * all-reduce already completed finishes normally. Called when a probe announces a new ring
     * while a task runs: "slow" must not look like "gone" because a paused peer blocked the ring.
     */
    public void abortRing() {
        closeLink();
    }

    /** Ends the job: exports the model and tokenizer into the run directory if asked, then closes all. */
    public CompletionStage<Void> finish(boolean export) {
        return submit(() -> {
            try {
                if (export) {
                    Path out = Path.of(join.outDir());
                    job.export(out);
                    Tokenizer.fromJson(join.tokenizerJson()).save(out);
                }
            } finally {
                closeLink();
                closeJob();
            }
            return null;
        });
    }

    /**
     * Closes the ring link now (which ends a running all-reduce at once) and the engines on the
     * blocking executor once the running task, if any, has ended: freeing native memory under a
     * step could crash the JVM.
     */
    @Override
    public synchronized void close() {
        closed = true;
        closeLink();
        // The link again afterwards: a task that was binding one when close came has set it since.
        inFlight = inFlight.handle((ignored, failure) -> null).thenRunAsync(() -> {
            closeLink();
            closeJob();
        }, blocking);
    }

    private synchronized <T> CompletionStage<T> submit(Callable<T> work) {
        if (closed) {
            return CompletableFuture.failedFuture(new SessionException("the job " + join.jobId() + " is closed", null));
        }
        CompletableFuture<T> next = inFlight.handle((ignored, failure) -> null)
                .thenApplyAsync(ignored -> call(work), blocking);
        inFlight = next;
        return next;
    }

    private void closeLink() {
        RingLink old = link.getAndSet(null);
        if (old != null) {
            old.close();
        }
    }

    private void closeJob() {
        if (jobClosed.compareAndSet(false, true)) {
            job.close();
        }
    }

    /** Runs blocking work, carrying a failure back as a {@link SessionException} with its one-line message. */
    private static <T> T call(Callable<T> work) {
        try {
            return work.call();
        } catch (SessionException e) {
            throw e;
        } catch (Exception e) {
            throw new SessionException(e.getMessage(), e);
        }
    }
}
