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
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.protocol.cluster.ConnectRing;
import io.troupe.protocol.cluster.FinishJob;
import io.troupe.protocol.cluster.FormRing;
import io.troupe.protocol.cluster.JobFinished;
import io.troupe.protocol.cluster.JobReady;
import io.troupe.protocol.cluster.JoinJob;
import io.troupe.protocol.cluster.LeaveRequest;
import io.troupe.protocol.cluster.Probe;
import io.troupe.protocol.cluster.ProbeReply;
import io.troupe.protocol.cluster.RingReady;
import io.troupe.protocol.cluster.RunStep;
import io.troupe.protocol.cluster.StepDone;
import io.troupe.protocol.cluster.StepFailed;
import io.troupe.protocol.cluster.WorkerHello;
import io.troupe.protocol.serialization.ClusterMessage;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
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
    record FromWire(ClusterMessage message) implements Command {
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
    private final ActorRef<ClusterMessage> wire;
    private final String self;
    private final ActorRefResolver resolver;
    private final Executor blocking;
    private ActorRef<ClusterMessage> coordinator;
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
        this.wire = Inbox.spawn(ctx, "wire", ClusterMessage.class, FromWire::new);
        this.resolver = ActorRefResolver.get(ctx.getSystem());
        this.self = resolver.toSerializationFormat(wire);
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
                        join.getJobId());
                releaseAll();
            }
            coordinator = null;
        }
        for (ActorRef<ClusterMessage> c : coordinators) {
            if (coordinator == null && leaving == null) {
                coordinator = c;
                hello(c);
            }
        }
        return this;
    }

    private void hello(ActorRef<ClusterMessage> to) {
        if (!timers.isTimerActive(HelloAgain.INSTANCE)) {
            timers.startTimerWithFixedDelay(HelloAgain.INSTANCE, java.time.Duration.ofSeconds(1));
        }
        to.tell(new ClusterMessage(WorkerHello.newBuilder()
                .setWorker(self)
                .setTroupeVersion(settings.version())
                .setThreads(settings.threads())
                .setDevice(settings.device().toString())
                .setDataHost(dataPlane.host())
                .build()));
    }

    private Behavior<Command> onWire(FromWire msg) {
        Object payload = msg.message().payload();
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
            getContext().getLog().error("coordinator refused this worker: {}", refused.getError());
            return Behaviors.stopped();
        }
        getContext().getLog().warn("ignoring unexpected {} from the cluster", payload.getClass().getSimpleName());
        return this;
    }

    private boolean inJob(String jobId) {
        return join != null && join.getJobId().equals(jobId);
    }

    private Behavior<Command> onJoinJob(JoinJob j) {
        if (join != null) {
            tell(j.getCoordinator(), JobReady.newBuilder().setJobId(j.getJobId()).setWorker(self).setOk(false)
                    .setError("worker is already in job " + join.getJobId()).build());
            return this;
        }
        join = j;
        background(() -> buildJob(j), (built, failure) -> new JobBuilt(j, built, failure));
        return this;
    }

    /** Loads the data, checks it is the coordinator's, binds the state server and builds the engines. Blocking. */
    private WorkerJob buildJob(JoinJob j) {
        try {
            TrainSettings jobSettings = JobSettings.parse(j.getSettingsJson());
            Tokenizer tokenizer = Tokenizer.fromJson(j.getTokenizerJson());
            TextCorpus corpus = TextCorpus.load(Path.of(j.getDataPath()));
            String sha = JobSettings.sha256(corpus.text());
            if (!sha.equals(j.getDataSha256())) {
                throw new DataException("the corpus at " + j.getDataPath() + " on this worker differs from the "
                        + "coordinator's (sha256 " + sha + " vs " + j.getDataSha256() + "); give every node the same file");
            }
            TokenSplit split = TokenSplit.encode(corpus, tokenizer, jobSettings.blockSize());
            dataPlane.stateExchange();
            // The rank only seeds this worker's evaluation samplers and dropout; ring ranks come with FormRing.
            BatchPlan plan = BatchPlan.of(j.getGlobalBatch(), jobSettings.gradAccum(), j.getWorldSize(), j.getRank());
            return new WorkerJob(jobSettings, tokenizer, split, plan,
                    EngineOptions.cpu(settings.threads()).withDevice(settings.device()), PekkoDataPlane.local(), null);
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        }
    }

    private Behavior<Command> onJobBuilt(JobBuilt built) {
        busy = false;
        JoinJob j = built.join();
        JobReady.Builder ready = JobReady.newBuilder().setJobId(j.getJobId()).setWorker(self).setGeneration(-1);
        if (!inJob(j.getJobId())) {
            if (built.job() != null) {
                built.job().close(); // the job was dropped (coordinator lost) while it was being built
            }
            return this;
        }
        if (built.failure() != null) {
            join = null;
            ready.setOk(false).setError(rootMessage(built.failure()));
        } else {
            job = built.job();
            trainSettings = JobSettings.parse(j.getSettingsJson());
            identity = null;
            step = 0;
            try {
                InetSocketAddress state = dataPlane.stateExchange().address();
                ready.setOk(true).setStateHost(state.getHostString()).setStatePort(state.getPort());
            } catch (ReductionException e) {
                ready.setOk(false).setError(e.getMessage());
            }
        }
        tell(j.getCoordinator(), ready.build());
        if (job == null && leaving != null) {
            leaving.tell(Done.getInstance()); // it asked to leave while its job was being prepared
            return Behaviors.stopped();
        }
        return runPending();
    }

    private Behavior<Command> onProbe(Probe p) {
        if (!inJob(p.getJobId()) || job == null) {
            return this;
        }
        if (busy) {
            pendingProbe = p; // answered when the running step (or sync) ends
            return this;
        }
        generation = p.getGeneration();
        RingLink old = link;
        link = null;
        rank = -1;
        WorkerJob current = job;
        long at = step;
        String jobId = join.getJobId();
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
        if (job != null && probed.request().getGeneration() == generation) {
            tell(join.getCoordinator(), ProbeReply.newBuilder().setJobId(join.getJobId()).setGeneration(generation)
                    .setWorker(self).setStep(step).setParamChecksum(job.parameterChecksum())
                    .setLeaving(leaving != null).build());
        }
        return runPending();
    }

    private Behavior<Command> onFormRing(FormRing f) {
        if (!inJob(f.getJobId()) || job == null || f.getGeneration() != generation || busy) {
            getContext().getLog().warn("ignoring a ring of generation {} (this worker is at {}{})", f.getGeneration(),
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
            if (f.getSyncPort() > 0) {
                InetSocketAddress peer = new InetSocketAddress(f.getSyncHost(), f.getSyncPort());
                Checkpoint state = dataPlane.stateExchange().fetch(peer, j.getJobId(), f.getSyncStep(), id);
                current.restoreState(state);
            }
            if (f.getWorldSize() == 1) {
                return PekkoDataPlane.local();
            }
            return dataPlane.bind(j.getJobId(), f.getRank(), f.getWorldSize(),
                    j.getWire().isEmpty() ? WireFormat.FP32 : WireFormat.parse(j.getWire()));
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        }
    }

    private Behavior<Command> onRingFormed(RingFormed formed) {
        busy = false;
        FormRing f = formed.request();
        if (job == null || f.getGeneration() != generation) {
            if (formed.link() != null) {
                formed.link().close(); // superseded by a newer generation while binding
            }
            return runPending();
        }
        JobReady.Builder ready = JobReady.newBuilder().setJobId(f.getJobId()).setWorker(self).setRank(f.getRank())
                .setGeneration(f.getGeneration());
        if (formed.failure() != null) {
            ready.setOk(false).setError(rootMessage(formed.failure()));
        } else {
            if (f.getSyncPort() > 0) {
                step = f.getSyncStep();
                bestValLoss = job.restoredBestValLoss();
            }
            link = formed.link();
            rank = f.getRank();
            job.useReducer(link);
            ready.setOk(true).setDataHost(link.address().getHostString()).setDataPort(link.address().getPort());
        }
        tell(join.getCoordinator(), ready.build());
        return runPending();
    }

    private Behavior<Command> onConnectRing(ConnectRing c) {
        if (link == null || !inJob(c.getJobId()) || c.getGeneration() != generation) {
            return this;
        }
        RingLink current = link;
        InetSocketAddress successor = new InetSocketAddress(c.getSuccessorHost(), c.getSuccessorPort());
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
        if (r.request().getGeneration() == generation && join != null) {
            RingReady.Builder ready = RingReady.newBuilder().setJobId(r.request().getJobId()).setRank(rank)
                    .setGeneration(generation);
            if (r.failure() != null) {
                ready.setOk(false).setError(rootMessage(r.failure()));
            } else {
                ready.setOk(true);
            }
            tell(join.getCoordinator(), ready.build());
        }
        return runPending();
    }

    private Behavior<Command> onRunStep(RunStep r) {
        if (job == null || !inJob(r.getJobId()) || r.getGeneration() != generation || link == null || busy) {
            tell(join != null ? join.getCoordinator() : null, StepFailed.newBuilder().setJobId(r.getJobId())
                    .setStep(r.getStep()).setGeneration(r.getGeneration()).setRank(rank)
                    .setError("worker is not ready for step " + r.getStep() + " of generation " + r.getGeneration()
                            + (busy ? " (busy)" : "")).build());
            return this;
        }
        if (r.getStep() != step + 1) {
            tell(join.getCoordinator(), StepFailed.newBuilder().setJobId(r.getJobId()).setStep(r.getStep())
                    .setGeneration(generation).setRank(rank).setError("worker has applied " + step
                            + " steps, so it cannot run step " + r.getStep()).build());
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
            ElasticShare share = new ElasticShare(r.getSampleFrom(), r.getRows(), r.getMicroBatch(), r.getGradAccum(),
                    r.getWorldSize(), r.getGlobalBatch());
            WorkerJob.ElasticStepResult result = current.step(r.getStep(), r.getLr(), share);
            StepDone.Builder done = StepDone.newBuilder().setJobId(r.getJobId()).setRank(myRank)
                    .setStep(r.getStep()).setGeneration(r.getGeneration()).setLoss(result.loss())
                    .setGradNorm(result.gradNorm()).setSkipped(result.skipped())
                    .setSampleFrom(share.sampleFrom()).setRows(share.rows())
                    .setComputeMs(current.lastComputeMillis()).setAllreduceMs(current.lastReduceMillis());
            if (r.getVerifyParams()) {
                done.setParamChecksum(current.parameterChecksum());
            }
            if (r.getEvaluate()) {
                double[] losses = current.evaluate();
                done.setTrainEvalLoss(losses[0]).setValEvalLoss(losses[1]).setEvalBatches(1);
                bestValLoss = Math.min(bestValLoss, losses[1]);
            }
            if (r.getCheckpoint() && myRank == 0) {
                CheckpointStore store = new CheckpointStore(Path.of(j.getOutDir()), trainSettings.keepCheckpoints());
                store.save(current.checkpoint(r.getStep(), id, bestValLoss));
            }
            return done.build();
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
            StepFailed.Builder failed = StepFailed.newBuilder().setJobId(c.request().getJobId()).setRank(rank)
                    .setGeneration(c.request().getGeneration()).setStep(c.request().getStep())
                    .setError(rootMessage(c.failure()));
            brokenLinkPeer(c.failure()).ifPresent(failed::setSuspectRank);
            tell(join.getCoordinator(), failed.build());
            if (!isRingFailure(c.failure())) {
                // Not the ring: this worker's own engine failed. Restart it clean (supervision).
                throw new WorkerFailure("step " + c.request().getStep() + " failed on this worker: "
                        + rootMessage(c.failure()), c.failure());
            }
        } else {
            step = c.request().getStep();
            tell(join.getCoordinator(), c.done());
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
        if (!inJob(f.getJobId())) {
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
        boolean export = f.getExportModel() && rank == 0;
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
                Path out = Path.of(j.getOutDir());
                ModelExport.write(out, current.model(), current.parameters());
                Tokenizer.fromJson(j.getTokenizerJson()).save(out);
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
        JobFinished.Builder finished = JobFinished.newBuilder().setJobId(c.request().getJobId()).setRank(rank);
        if (c.failure() != null) {
            finished.setError(rootMessage(c.failure()));
        }
        String coordinatorRef = join.getCoordinator();
        job = null;
        link = null;
        join = null;
        rank = -1;
        generation = -1;
        bestValLoss = Double.POSITIVE_INFINITY;
        tell(coordinatorRef, finished.build());
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
        getContext().getLog().info("leaving job {} at the next step boundary", join.getJobId());
        tell(join.getCoordinator(), LeaveRequest.newBuilder().setJobId(join.getJobId()).setWorker(self).build());
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

    private void tell(String coordinatorRef, com.google.protobuf.Message message) {
        ActorRef<ClusterMessage> target = coordinatorRef != null && !coordinatorRef.isEmpty()
                ? resolver.resolveActorRef(coordinatorRef) : coordinator;
        if (target != null) {
            target.tell(new ClusterMessage(message));
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
