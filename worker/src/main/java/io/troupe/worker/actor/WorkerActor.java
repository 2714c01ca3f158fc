package io.troupe.worker.actor;

import static io.troupe.errors.Failures.rootMessage;

import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.plane.DataPlane;
import io.troupe.worker.plane.PekkoDataPlane;
import io.troupe.worker.plane.RingLink;
import io.troupe.data.DataException;
import io.troupe.errors.Failures;
import io.troupe.errors.TroupeException;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.source.DataSource;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.job.protocol.ConnectRing;
import io.troupe.worker.job.protocol.FinishJob;
import io.troupe.worker.job.protocol.FormRing;
import io.troupe.worker.job.protocol.JobFinished;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.JoinJob;
import io.troupe.worker.job.protocol.LeaveRequest;
import io.troupe.worker.job.protocol.Probe;
import io.troupe.worker.job.protocol.ProbeReply;
import io.troupe.worker.job.protocol.RingReady;
import io.troupe.worker.job.protocol.RunStep;
import io.troupe.worker.job.protocol.StepDone;
import io.troupe.worker.job.protocol.StepFailed;
import io.troupe.worker.job.protocol.WorkerHello;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.job.BatchPlan;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.run.ModelExport;
import io.troupe.worker.train.TrainSettings;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * A training worker: one per GPU or CPU node. It announces itself to the coordinator,
 * prepares the job it is given (data, engines, state server), and then follows the
 * coordinator through ring generations: a {@link Probe} ends the current ring and asks for
 * this worker's step, a {@link FormRing} gives it a rank in a new ring (after fetching a peer's
 * state when it is behind), and {@link RunStep}s run its exact share of each global batch.
 *
 * <p>The blocking work (ORT sessions, the all-reduce, state transfer) runs on the blocking
 * dispatcher, never on the actor's thread. A step that fails for a reason other than the ring
 * (an engine error) makes the actor throw: its supervisor restarts it with backoff, the native
 * resources are closed first, and the fresh actor joins the job again as a new worker.
 */
public final class WorkerActor extends AbstractBehavior<WorkerActor.Command> {
    /** Dispatcher for ORT calls and the all-reduce (see reference.conf). */
    public static final String BLOCKING_DISPATCHER = "troupe.worker.blocking-dispatcher";

    /** The worker's protocol. */
    public sealed interface Command permits FromWire, CoordinatorsChanged, JobBuilt, RingFormed, RingConnected,
            StepCompleted, Probed, JobClosed, Leave, HelloAgain {
    }

    /**
     * Say hello again: the coordinator ignores a hello from a node it does not yet see as Up
     * (cluster membership spreads by gossip), so a worker repeats it until it gets a job.
     */
    enum HelloAgain implements Command { INSTANCE }

    /** A cluster message from the coordinator. */
    record FromWire(JobMessage message) implements Command {
    }

    /** The receptionist's list of coordinators changed. */
    record CoordinatorsChanged(Receptionist.Listing listing) implements Command {
    }

    /** A job was prepared (or failed to be). */
    record JobBuilt(JoinJob join, WorkerJob job, Throwable failure) implements Command {
    }

    /** This worker's place in a new ring is bound (and its state synced), or failed. */
    record RingFormed(FormRing request, RingLink link, Throwable failure) implements Command {
    }

    /** The link to the ring successor is up (or failed). */
    record RingConnected(ConnectRing request, Throwable failure) implements Command {
    }

    /** A step (and its evaluation / checkpoint) finished or failed. */
    record StepCompleted(RunStep request, StepDone done, Throwable failure) implements Command {
    }

    /** The old ring is closed and this worker's state is offered to peers. */
    record Probed(Probe request, Throwable failure) implements Command {
    }

    /** A job's finish work (export) is done. */
    record JobClosed(FinishJob request, Throwable failure) implements Command {
    }

    /**
     * Leave the job gracefully (SIGTERM): the coordinator takes this worker out of the ring at
     * the next step boundary; {@code done} is answered once it has.
     */
    public record Leave(ActorRef<Done> done) implements Command {
    }

    private final TimerScheduler<Command> timers;
    private final WorkerSettings settings;
    private final DataPlane dataPlane;
    private final ActorRef<JobMessage> wire;
    private final Executor blocking;
    private ActorRef<JobMessage> coordinator;
    private JoinJob join;
    private WorkerJob job;
    private TrainSettings trainSettings;
    private String identity;
    private RingLink link;
    private int rank = -1;
    private long generation = -1;
    /** Optimizer steps applied to this worker's parameters (completed steps, skipped ones included). */
    private long step;
    private boolean busy;
    private CompletableFuture<?> inFlight = CompletableFuture.completedFuture(null);
    private Probe pendingProbe;
    private FinishJob pendingFinish;
    private ActorRef<Done> leaving;
    private double bestValLoss = Double.POSITIVE_INFINITY;

    public static Behavior<Command> create(WorkerSettings settings, DataPlane dataPlane) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new WorkerActor(ctx, timers, settings, dataPlane)));
    }

    private WorkerActor(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerSettings settings,
                        DataPlane dataPlane) {
        super(ctx);
        this.timers = timers;
        this.settings = settings;
        this.dataPlane = dataPlane;
        this.wire = Inbox.spawn(ctx, "wire", JobMessage.class, FromWire::new);
        this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(BLOCKING_DISPATCHER));
        ctx.getSystem().receptionist().tell(Receptionist.register(ServiceKeys.WORKERS, wire));
        ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, CoordinatorsChanged::new);
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(ServiceKeys.COORDINATORS, listings));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(CoordinatorsChanged.class, this::onCoordinatorsChanged)
                .onMessage(FromWire.class, this::onWire)
                .onMessage(JobBuilt.class, this::onJobBuilt)
                .onMessage(Probed.class, this::onProbed)
                .onMessage(RingFormed.class, this::onRingFormed)
                .onMessage(RingConnected.class, this::onRingConnected)
                .onMessage(StepCompleted.class, this::onStepCompleted)
                .onMessage(JobClosed.class, this::onJobClosed)
                .onMessage(Leave.class, this::onLeave)
                .onMessage(HelloAgain.class, h -> {
                    if (coordinator != null && join == null && leaving == null) {
                        hello(coordinator);
                    } else {
                        timers.cancel(HelloAgain.INSTANCE);
                    }
                    return this;
                })
                .onSignal(PreRestart.class, signal -> releaseAll())
                .onSignal(PostStop.class, signal -> releaseAll())
                .build();
    }

    private Behavior<Command> onCoordinatorsChanged(CoordinatorsChanged msg) {
        var coordinators = msg.listing().getServiceInstances(ServiceKeys.COORDINATORS);
        if (coordinator != null && !coordinators.contains(coordinator)) {
            // The coordinator is gone: a job cannot go on without it. Drop it and wait for the
            // next coordinator (a resumed one hands out the state again).
            if (join != null) {
                getContext().getLog().warn("lost the coordinator; dropping job {} and waiting for a coordinator",
                        join.jobId());
                releaseAll();
            }
            coordinator = null;
        }
        for (ActorRef<JobMessage> c : coordinators) {
            if (coordinator == null && leaving == null) {
                coordinator = c;
                hello(c);
            }
        }
        return this;
    }

    private void hello(ActorRef<JobMessage> to) {
        if (!timers.isTimerActive(HelloAgain.INSTANCE)) {
            timers.startTimerWithFixedDelay(HelloAgain.INSTANCE, java.time.Duration.ofSeconds(1));
        }
        to.tell(new WorkerHello(wire, settings.version(), settings.threads(), settings.device().toString(),
                dataPlane.host()));
    }

    private Behavior<Command> onWire(FromWire msg) {
        JobMessage payload = msg.message();
        if (payload instanceof JoinJob j) {
            return onJoinJob(j);
        } else if (payload instanceof Probe p) {
            return onProbe(p);
        } else if (payload instanceof FormRing f) {
            return onFormRing(f);
        } else if (payload instanceof ConnectRing c) {
            return onConnectRing(c);
        } else if (payload instanceof RunStep r) {
            return onRunStep(r);
        } else if (payload instanceof FinishJob f) {
            return onFinishJob(f);
        } else if (payload instanceof JobFinished refused) {
            // The coordinator turned this worker away (another version, job full).
            getContext().getLog().error("coordinator refused this worker: {}", refused.error());
            return Behaviors.stopped();
        }
        getContext().getLog().warn("ignoring unexpected {} from the cluster", payload.getClass().getSimpleName());
        return this;
    }

    private boolean inJob(String jobId) {
        return join != null && join.jobId().equals(jobId);
    }

    private Behavior<Command> onJoinJob(JoinJob j) {
        if (join != null) {
            tell(j.coordinator(), new JobReady(j.jobId(), 0, false, "worker is already in job " + join.jobId(), "", 0,
                    0, wire, "", 0));
            return this;
        }
        join = j;
        background(() -> buildJob(j), (built, failure) -> new JobBuilt(j, built, failure));
        return this;
    }

    /** Loads the data, checks it is the coordinator's, binds the state server and builds the engines. Blocking. */
    private WorkerJob buildJob(JoinJob j) {
        try {
            TrainSettings jobSettings = JobSettings.parse(j.settingsJson());
            Tokenizer tokenizer = Tokenizer.fromJson(j.tokenizerJson());
            // The same data by path, checked by content hash; tokenized once per process (shared by embedded workers).
            TokenSplit split = DataSource.open(Path.of(j.dataPath())).requireSha256(j.dataSha256(), "the coordinator's")
                    .withTokenizer(tokenizer, "the coordinator's").split(jobSettings.blockSize());
            dataPlane.stateExchange();
            // The rank only seeds this worker's evaluation samplers and dropout; ring ranks come with FormRing.
            BatchPlan plan = BatchPlan.of(j.globalBatch(), jobSettings.gradAccum(), j.worldSize(), j.rank());
            return new WorkerJob(jobSettings, tokenizer, split, plan,
                    EngineOptions.cpu(settings.threads()).withDevice(settings.device()), PekkoDataPlane.local(), null);
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        }
    }

    private Behavior<Command> onJobBuilt(JobBuilt built) {
        busy = false;
        JoinJob j = built.join();
        if (!inJob(j.jobId())) {
            if (built.job() != null) {
                built.job().close(); // the job was dropped (coordinator lost) while it was being built
            }
            return this;
        }
        JobReady ready;
        if (built.failure() != null) {
            join = null;
            ready = prepared(j, rootMessage(built.failure()), null);
        } else {
            job = built.job();
            trainSettings = JobSettings.parse(j.settingsJson());
            identity = null;
            step = 0;
            try {
                InetSocketAddress state = dataPlane.stateExchange().address();
                ready = prepared(j, "", state);
            } catch (ReductionException e) {
                ready = prepared(j, e.getMessage(), null);
            }
        }
        tell(j.coordinator(), ready);
        if (job == null && leaving != null) {
            leaving.tell(Done.getInstance()); // it asked to leave while its job was being prepared
            return Behaviors.stopped();
        }
        return runPending();
    }

    private Behavior<Command> onProbe(Probe p) {
        if (!inJob(p.jobId()) || job == null) {
            return this;
        }
        if (busy) {
            pendingProbe = p; // answered when the running step (or sync) ends
            return this;
        }
        generation = p.generation();
        RingLink old = link;
        link = null;
        rank = -1;
        WorkerJob current = job;
        long at = step;
        String jobId = join.jobId();
        String id = identity();
        double best = bestValLoss;
        background(() -> {
            if (old != null) {
                old.close();
            }
            try {
                dataPlane.stateExchange().offer(jobId, at, current.checkpoint(at, id, best));
            } catch (ReductionException e) {
                throw new JobException(e.getMessage(), e);
            }
            return null;
        }, (ignored, failure) -> new Probed(p, failure));
        return this;
    }

    private Behavior<Command> onProbed(Probed probed) {
        busy = false;
        if (probed.failure() != null) {
            getContext().getLog().warn("could not offer this worker's state: {}", rootMessage(probed.failure()));
        }
        if (job != null && probed.request().generation() == generation) {
            tell(join.coordinator(), new ProbeReply(join.jobId(), generation, wire, step, job.parameterChecksum(),
                    leaving != null));
        }
        return runPending();
    }

    private Behavior<Command> onFormRing(FormRing f) {
        if (!inJob(f.jobId()) || job == null || f.generation() != generation || busy) {
            getContext().getLog().warn("ignoring a ring of generation {} (this worker is at {}{})", f.generation(),
                    generation, busy ? ", busy" : "");
            return this;
        }
        WorkerJob current = job;
        JoinJob j = join;
        String id = identity();
        background(() -> formRing(current, j, f, id), (bound, failure) -> new RingFormed(f, bound, failure));
        return this;
    }

    /** Catches up from a peer when asked, then binds this rank's ring server. Blocking. */
    private RingLink formRing(WorkerJob current, JoinJob j, FormRing f, String id) {
        try {
            if (f.syncPort() > 0) {
                InetSocketAddress peer = new InetSocketAddress(f.syncHost(), f.syncPort());
                Checkpoint state = dataPlane.stateExchange().fetch(peer, j.jobId(), f.syncStep(), id);
                current.restoreState(state);
            }
            if (f.worldSize() == 1) {
                return PekkoDataPlane.local();
            }
            return dataPlane.bind(j.jobId(), f.rank(), f.worldSize(),
                    j.wire() == null ? WireFormat.FP32 : j.wire());
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        }
    }

    private Behavior<Command> onRingFormed(RingFormed formed) {
        busy = false;
        FormRing f = formed.request();
        if (job == null || f.generation() != generation) {
            if (formed.link() != null) {
                formed.link().close(); // superseded by a newer generation while binding
            }
            return runPending();
        }
        JobReady ready;
        if (formed.failure() != null) {
            ready = new JobReady(f.jobId(), f.rank(), false, rootMessage(formed.failure()), "", 0, f.generation(), wire,
                    "", 0);
        } else {
            if (f.syncPort() > 0) {
                step = f.syncStep();
                bestValLoss = job.restoredBestValLoss();
            }
            link = formed.link();
            rank = f.rank();
            job.useReducer(link);
            ready = new JobReady(f.jobId(), f.rank(), true, "", link.address().getHostString(),
                    link.address().getPort(), f.generation(), wire, "", 0);
        }
        tell(join.coordinator(), ready);
        return runPending();
    }

    private Behavior<Command> onConnectRing(ConnectRing c) {
        if (link == null || !inJob(c.jobId()) || c.generation() != generation) {
            return this;
        }
        RingLink current = link;
        InetSocketAddress successor = new InetSocketAddress(c.successorHost(), c.successorPort());
        background(() -> {
            try {
                current.connect(successor);
            } catch (Exception e) {
                throw new JobException(e.getMessage(), e);
            }
            return null;
        }, (ignored, failure) -> new RingConnected(c, failure));
        return this;
    }

    private Behavior<Command> onRingConnected(RingConnected r) {
        busy = false;
        if (r.request().generation() == generation && join != null) {
            String error = r.failure() != null ? rootMessage(r.failure()) : "";
            tell(join.coordinator(), new RingReady(r.request().jobId(), rank, error.isEmpty(), error, generation));
        }
        return runPending();
    }

    private Behavior<Command> onRunStep(RunStep r) {
        if (job == null || !inJob(r.jobId()) || r.generation() != generation || link == null || busy) {
            tell(join != null ? join.coordinator() : null, new StepFailed(r.jobId(), rank, r.step(),
                    "worker is not ready for step " + r.step() + " of generation " + r.generation()
                            + (busy ? " (busy)" : ""), r.generation(), OptionalInt.empty()));
            return this;
        }
        if (r.step() != step + 1) {
            tell(join.coordinator(), new StepFailed(r.jobId(), rank, r.step(), "worker has applied " + step
                    + " steps, so it cannot run step " + r.step(), generation, OptionalInt.empty()));
            return this;
        }
        WorkerJob current = job;
        JoinJob j = join;
        int myRank = rank;
        String id = identity();
        background(() -> runStep(current, j, myRank, r, id), (done, failure) -> new StepCompleted(r, done, failure));
        return this;
    }

    /** One step, then the evaluation and checkpoint it asks for. Blocking. */
    private StepDone runStep(WorkerJob current, JoinJob j, int myRank, RunStep r, String id) {
        try {
            ElasticShare share = new ElasticShare(r.sampleFrom(), r.rows(), r.microBatch(), r.gradAccum(),
                    r.worldSize(), r.globalBatch());
            WorkerJob.StepResult result = current.step(r.step(), r.lr(), share);
            long checksum = r.verifyParams() ? current.parameterChecksum() : 0;
            double[] losses = {0, 0};
            if (r.evaluate()) {
                losses = current.evaluate();
                bestValLoss = Math.min(bestValLoss, losses[1]);
            }
            StepDone done = new StepDone(r.jobId(), myRank, r.step(), result.loss(), result.gradNorm(), checksum,
                    losses[0], losses[1], r.evaluate() ? 1 : 0, current.lastComputeMillis(),
                    current.lastReduceMillis(), r.generation(), share.sampleFrom(), share.rows(), result.skipped());
            if (r.checkpoint() && myRank == 0) {
                CheckpointStore store = new CheckpointStore(Path.of(j.outDir()), trainSettings.keepCheckpoints());
                store.save(current.checkpoint(r.step(), id, bestValLoss));
            }
            return done;
        } catch (ReductionException e) {
            throw new RingFailure(e.getMessage(), e);
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        }
    }

    private Behavior<Command> onStepCompleted(StepCompleted c) {
        busy = false;
        if (join == null) {
            return this;
        }
        if (c.failure() != null) {
            java.util.Optional<Integer> suspect = brokenLinkPeer(c.failure());
            tell(join.coordinator(), new StepFailed(c.request().jobId(), rank, c.request().step(),
                    rootMessage(c.failure()), c.request().generation(),
                    suspect.isPresent() ? OptionalInt.of(suspect.get()) : OptionalInt.empty()));
            if (!isRingFailure(c.failure())) {
                // Not the ring: this worker's own engine failed. Restart it clean (supervision).
                throw new WorkerFailure("step " + c.request().step() + " failed on this worker: "
                        + rootMessage(c.failure()), c.failure());
            }
        } else {
            step = c.request().step();
            tell(join.coordinator(), c.done());
        }
        return runPending();
    }

    /** The rank of the neighbour whose connection broke under a failed step (not one that gave up). */
    private static java.util.Optional<Integer> brokenLinkPeer(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof io.troupe.worker.allreduce.RingPeerException peer
                    && !(cause instanceof io.troupe.worker.allreduce.RingPeerGaveUpException)) {
                return java.util.Optional.of(peer.peer().rank());
            }
        }
        return java.util.Optional.empty();
    }

    private static boolean isRingFailure(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof RingFailure || cause instanceof ReductionException) {
                return true;
            }
        }
        return false;
    }

    /** Handles what arrived while a blocking task ran: a finish first, then a probe. */
    private Behavior<Command> runPending() {
        if (pendingFinish != null) {
            FinishJob f = pendingFinish;
            pendingFinish = null;
            return onFinishJob(f);
        }
        if (pendingProbe != null) {
            Probe p = pendingProbe;
            pendingProbe = null;
            return onProbe(p);
        }
        return this;
    }

    private Behavior<Command> onFinishJob(FinishJob f) {
        if (!inJob(f.jobId())) {
            return this;
        }
        if (busy) {
            // Closing the engines under a running step (or while they are built) would free
            // native memory in use.
            pendingFinish = f;
            return this;
        }
        if (job == null) {
            return this;
        }
        WorkerJob current = job;
        RingLink currentLink = link;
        JoinJob j = join;
        boolean export = f.exportModel() && rank == 0;
        background(() -> {
            finish(current, currentLink, j, export);
            return null;
        }, (ignored, failure) -> new JobClosed(f, failure));
        return this;
    }

    /** Rank 0 exports the model and tokenizer into the run directory; every rank closes its job. Blocking. */
    private static void finish(WorkerJob current, RingLink currentLink, JoinJob j, boolean export) {
        try {
            if (export) {
                Path out = Path.of(j.outDir());
                ModelExport.write(out, current.model(), current.parameters());
                Tokenizer.fromJson(j.tokenizerJson()).save(out);
            }
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        } finally {
            current.close();
            if (currentLink != null) {
                currentLink.close();
            }
        }
    }

    private Behavior<Command> onJobClosed(JobClosed c) {
        busy = false;
        JobFinished finished = new JobFinished(c.request().jobId(), rank,
                c.failure() != null ? rootMessage(c.failure()) : "");
        ActorRef<JobMessage> coordinatorRef = join.coordinator();
        job = null;
        link = null;
        join = null;
        rank = -1;
        generation = -1;
        bestValLoss = Double.POSITIVE_INFINITY;
        tell(coordinatorRef, finished);
        if (leaving != null) {
            leaving.tell(Done.getInstance());
            return Behaviors.stopped();
        }
        if (coordinator != null) {
            // Released from a running job (e.g. too slow to answer a probe): offer itself again.
            hello(coordinator);
        }
        return this;
    }

    private Behavior<Command> onLeave(Leave leave) {
        leaving = leave.done();
        if (join == null) {
            leave.done().tell(Done.getInstance());
            return Behaviors.stopped();
        }
        getContext().getLog().info("leaving job {} at the next step boundary", join.jobId());
        tell(join.coordinator(), new LeaveRequest(join.jobId(), wire));
        return this;
    }

    /** The model and optimizer identity a peer's state must have (as the local trainer writes it), once per job. */
    private String identity() {
        if (identity == null) {
            identity = JobSettings.resumeIdentity(trainSettings, job.model().vocabSize());
        }
        return identity;
    }

    /** Closes the job's native resources and ring link (on restart, on stop, on losing the coordinator). */
    private Behavior<Command> releaseAll() {
        if (busy && job != null) {
            // A blocking task still uses the engines: freeing their native memory now could
            // crash the JVM, so they are closed after it.
            getContext().getLog().warn("stopping while a step runs; its engines are closed when it ends");
            closeLater(job, link);
        } else {
            if (job != null) {
                job.close();
            }
            if (link != null) {
                link.close();
            }
        }
        job = null;
        link = null;
        join = null;
        rank = -1;
        generation = -1;
        pendingProbe = null;
        pendingFinish = null;
        return this;
    }

    /**
     * Closes a job's engines after the blocking task that uses them has ended: the ring link is
     * closed now (which ends a running all-reduce at once), the engines when the task is done.
     */
    private void closeLater(WorkerJob running, RingLink runningLink) {
        if (runningLink != null) {
            runningLink.close();
        }
        inFlight.whenCompleteAsync((result, failure) -> running.close(), blocking);
    }

    /**
     * Runs {@code task} on the blocking dispatcher and sends its outcome to this actor; the
     * worker counts as busy until then, and defers probes and finishes.
     */
    private <T> void background(java.util.function.Supplier<T> task,
                                java.util.function.BiFunction<T, Throwable, Command> outcome) {
        busy = true;
        CompletableFuture<T> future = CompletableFuture.supplyAsync(task, blocking);
        inFlight = future;
        getContext().pipeToSelf(future, outcome::apply);
    }

    /** The answer to a JoinJob: prepared (with where this worker serves its state) or not. */
    private JobReady prepared(JoinJob j, String error, InetSocketAddress state) {
        return new JobReady(j.jobId(), 0, error.isEmpty(), error, "", 0, -1, wire,
                state == null ? "" : state.getHostString(), state == null ? 0 : state.getPort());
    }

    private void tell(ActorRef<JobMessage> coordinatorRef, JobMessage message) {
        ActorRef<JobMessage> target = coordinatorRef != null ? coordinatorRef : coordinator;
        if (target != null) {
            target.tell(message);
        }
    }

    /** A failure inside a job's blocking work, carried back to the actor. */
    static final class JobException extends TroupeException {
        private static final long serialVersionUID = 1L;

        JobException(String message, Throwable cause) {
            super(Failures.kindOf(cause), message, cause);
        }
    }

    /** The ring failed under a step (a peer died or gave up): the coordinator re-forms it. */
    static final class RingFailure extends TroupeException {
        private static final long serialVersionUID = 1L;

        RingFailure(String message, Throwable cause) {
            super(Kind.CLUSTER, message, cause);
        }
    }

    /** This worker's own step failed: thrown to its supervisor, which restarts it with backoff. */
    static final class WorkerFailure extends TroupeException {
        private static final long serialVersionUID = 1L;

        WorkerFailure(String message, Throwable cause) {
            super(Failures.kindOf(cause), message, cause);
        }
    }
}
