package io.troupe.worker.actor;

import io.troupe.data.DataException;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.protocol.cluster.ConnectRing;
import io.troupe.protocol.cluster.FinishJob;
import io.troupe.protocol.cluster.JobFinished;
import io.troupe.protocol.cluster.JobReady;
import io.troupe.protocol.cluster.JoinJob;
import io.troupe.protocol.cluster.RingReady;
import io.troupe.protocol.cluster.RunStep;
import io.troupe.protocol.cluster.StepDone;
import io.troupe.protocol.cluster.StepFailed;
import io.troupe.protocol.cluster.WorkerHello;
import io.troupe.protocol.serialization.ClusterMessage;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.dist.BatchPlan;
import io.troupe.worker.dist.WorkerJob;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.ModelExport;
import io.troupe.worker.train.TrainSettings;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * A training worker: one per GPU or CPU node. It announces itself to the coordinator, joins
 * the jobs it is given, and runs their steps; the blocking work (ORT sessions, the
 * all-reduce) runs on the blocking dispatcher, never on the actor's thread.
 */
public final class WorkerActor extends AbstractBehavior<WorkerActor.Command> {
    /** Dispatcher for ORT calls and the all-reduce (see reference.conf). */
    public static final String BLOCKING_DISPATCHER = "troupe.worker.blocking-dispatcher";

    /** The worker's protocol. */
    public sealed interface Command permits FromWire, CoordinatorsChanged, JobBuilt, RingConnected, StepCompleted,
            JobClosed {
    }

    /** A cluster message from the coordinator. */
    record FromWire(ClusterMessage message) implements Command {
    }

    /** The receptionist's list of coordinators changed. */
    record CoordinatorsChanged(Receptionist.Listing listing) implements Command {
    }

    /** A job's engines were built and its ring server bound (job null on failure). */
    record JobBuilt(JoinJob join, Built built, Throwable failure) implements Command {
    }

    /** The job's engines and this rank's ring link. */
    record Built(WorkerJob job, RingLink link) {
    }

    /** The link to the ring successor is up (or failed). */
    record RingConnected(ConnectRing request, Throwable failure) implements Command {
    }

    /** A step (and its evaluation / checkpoint) finished or failed. */
    record StepCompleted(RunStep request, StepDone done, Throwable failure) implements Command {
    }

    /** A job's finish work (export) is done. */
    record JobClosed(FinishJob request, Throwable failure) implements Command {
    }

    private final WorkerSettings settings;
    private final DataPlane dataPlane;
    private final ActorRef<ClusterMessage> wire;
    private final ActorRefResolver resolver;
    private final Executor blocking;
    private ActorRef<ClusterMessage> coordinator;
    private JoinJob join;
    private WorkerJob job;
    private RingLink link;
    private boolean stepRunning;
    private FinishJob pendingFinish;
    private double bestValLoss = Double.POSITIVE_INFINITY;

    public static Behavior<Command> create(WorkerSettings settings, DataPlane dataPlane) {
        return Behaviors.setup(ctx -> new WorkerActor(ctx, settings, dataPlane));
    }

    private WorkerActor(ActorContext<Command> ctx, WorkerSettings settings, DataPlane dataPlane) {
        super(ctx);
        this.settings = settings;
        this.dataPlane = dataPlane;
        this.wire = Inbox.spawn(ctx, "wire", ClusterMessage.class, FromWire::new);
        this.resolver = ActorRefResolver.get(ctx.getSystem());
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
                .onMessage(RingConnected.class, this::onRingConnected)
                .onMessage(StepCompleted.class, this::onStepCompleted)
                .onMessage(JobClosed.class, this::onJobClosed)
                .onSignal(PostStop.class, signal -> onStop())
                .build();
    }

    private Behavior<Command> onCoordinatorsChanged(CoordinatorsChanged msg) {
        for (ActorRef<ClusterMessage> c : msg.listing().getServiceInstances(ServiceKeys.COORDINATORS)) {
            if (!c.equals(coordinator) && join == null) {
                coordinator = c;
                c.tell(new ClusterMessage(WorkerHello.newBuilder()
                        .setWorker(resolver.toSerializationFormat(wire))
                        .setTroupeVersion(settings.version())
                        .setThreads(settings.threads())
                        .setDevice(settings.device().toString())
                        .setDataHost(dataPlane.host())
                        .build()));
            }
        }
        return this;
    }

    private Behavior<Command> onWire(FromWire msg) {
        ClusterMessage m = msg.message();
        if (m.payload() instanceof JoinJob j) {
            return onJoinJob(j);
        } else if (m.payload() instanceof ConnectRing c) {
            return onConnectRing(c);
        } else if (m.payload() instanceof RunStep r) {
            return onRunStep(r);
        } else if (m.payload() instanceof FinishJob f) {
            return onFinishJob(f);
        } else if (m.payload() instanceof JobFinished refused) {
            // The coordinator turned this worker away (another version, job full).
            getContext().getLog().error("coordinator refused this worker: {}", refused.getError());
            return Behaviors.stopped();
        }
        getContext().getLog().warn("ignoring unexpected {} from the cluster", m.payload().getClass().getSimpleName());
        return this;
    }

    private Behavior<Command> onJoinJob(JoinJob j) {
        if (join != null) {
            reply(j.getCoordinator(), JobReady.newBuilder().setJobId(j.getJobId()).setRank(j.getRank()).setOk(false)
                    .setError("worker is already in job " + join.getJobId()).build());
            return this;
        }
        join = j;
        getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> buildJob(j), blocking),
                (job, failure) -> new JobBuilt(j, job, failure));
        return this;
    }

    /** Loads the data, checks it is the coordinator's, binds the ring server and builds the engines. Blocking. */
    private Built buildJob(JoinJob j) {
        try {
            TrainSettings trainSettings = JobSettings.parse(j.getSettingsJson());
            Tokenizer tokenizer = Tokenizer.fromJson(j.getTokenizerJson());
            TextCorpus corpus = TextCorpus.load(Path.of(j.getDataPath()));
            String sha = JobSettings.sha256(corpus.text());
            if (!sha.equals(j.getDataSha256())) {
                throw new DataException("the corpus at " + j.getDataPath() + " on this worker differs from the "
                        + "coordinator's (sha256 " + sha + " vs " + j.getDataSha256() + "); give every node the same file");
            }
            TokenSplit split = TokenSplit.encode(corpus, tokenizer, trainSettings.blockSize());
            BatchPlan plan = BatchPlan.of(j.getGlobalBatch(), trainSettings.gradAccum(), j.getWorldSize(), j.getRank());
            RingLink ringLink = j.getWorldSize() == 1 ? PekkoDataPlane.local()
                    : dataPlane.bind(j.getJobId(), j.getRank(), j.getWorldSize(),
                    j.getWire().isEmpty() ? WireFormat.FP32 : WireFormat.parse(j.getWire()));
            try {
                return new Built(new WorkerJob(trainSettings, tokenizer, split, plan,
                        EngineOptions.cpu(settings.threads()).withDevice(settings.device()), ringLink, null), ringLink);
            } catch (Exception e) {
                ringLink.close();
                throw e;
            }
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        }
    }

    private Behavior<Command> onJobBuilt(JobBuilt built) {
        JoinJob j = built.join();
        JobReady.Builder ready = JobReady.newBuilder().setJobId(j.getJobId()).setRank(j.getRank());
        if (built.failure() != null) {
            join = null;
            ready.setOk(false).setError(rootMessage(built.failure()));
        } else {
            job = built.built().job();
            link = built.built().link();
            ready.setOk(true).setDataHost(link.address().getHostString()).setDataPort(link.address().getPort());
        }
        reply(j.getCoordinator(), ready.build());
        return this;
    }

    private Behavior<Command> onConnectRing(ConnectRing c) {
        if (link == null || !c.getJobId().equals(join.getJobId())) {
            return this;
        }
        RingLink current = link;
        InetSocketAddress successor = new InetSocketAddress(c.getSuccessorHost(), c.getSuccessorPort());
        getContext().pipeToSelf(CompletableFuture.runAsync(() -> {
            try {
                current.connect(successor);
            } catch (Exception e) {
                throw new JobException(e.getMessage(), e);
            }
        }, blocking), (ignored, failure) -> new RingConnected(c, failure));
        return this;
    }

    private Behavior<Command> onRingConnected(RingConnected r) {
        RingReady.Builder ready = RingReady.newBuilder().setJobId(r.request().getJobId()).setRank(join.getRank());
        if (r.failure() != null) {
            ready.setOk(false).setError(rootMessage(r.failure()));
        } else {
            ready.setOk(true);
        }
        reply(join.getCoordinator(), ready.build());
        return this;
    }

    private Behavior<Command> onRunStep(RunStep r) {
        if (job == null || !r.getJobId().equals(join.getJobId())) {
            reply(join != null ? join.getCoordinator() : null, StepFailed.newBuilder().setJobId(r.getJobId())
                    .setStep(r.getStep()).setError("worker is not in job " + r.getJobId()).build());
            return this;
        }
        WorkerJob current = job;
        JoinJob j = join;
        stepRunning = true;
        getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> runStep(current, j, r), blocking),
                (done, failure) -> new StepCompleted(r, done, failure));
        return this;
    }

    /** One step, then the evaluation and checkpoint it asks for. Blocking. */
    private StepDone runStep(WorkerJob current, JoinJob j, RunStep r) {
        try {
            double[] result = current.step(r.getStep(), r.getLr());
            StepDone.Builder done = StepDone.newBuilder().setJobId(r.getJobId()).setRank(j.getRank())
                    .setStep(r.getStep()).setLoss(result[0]).setGradNorm(result[1])
                    .setComputeMs(current.lastComputeMillis()).setAllreduceMs(current.lastReduceMillis());
            if (r.getVerifyParams()) {
                done.setParamChecksum(current.parameterChecksum());
            }
            if (r.getEvaluate()) {
                double[] losses = current.evaluate();
                done.setTrainEvalLoss(losses[0]).setValEvalLoss(losses[1]).setEvalBatches(1);
                bestValLoss = Math.min(bestValLoss, losses[1]);
            }
            if (r.getCheckpoint() && j.getRank() == 0) {
                TrainSettings trainSettings = JobSettings.parse(j.getSettingsJson());
                CheckpointStore store = new CheckpointStore(Path.of(j.getOutDir()), trainSettings.keepCheckpoints());
                store.save(current.checkpoint(r.getStep(),
                        JobSettings.resumeIdentity(trainSettings, current.model().vocabSize()), bestValLoss));
            }
            return done.build();
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        }
    }

    private Behavior<Command> onStepCompleted(StepCompleted c) {
        stepRunning = false;
        if (c.failure() != null) {
            reply(join.getCoordinator(), StepFailed.newBuilder().setJobId(c.request().getJobId())
                    .setRank(join.getRank()).setStep(c.request().getStep()).setError(rootMessage(c.failure())).build());
        } else {
            reply(join.getCoordinator(), c.done());
        }
        if (pendingFinish != null) {
            FinishJob f = pendingFinish;
            pendingFinish = null;
            return onFinishJob(f);
        }
        return this;
    }

    private Behavior<Command> onFinishJob(FinishJob f) {
        if (job == null || !f.getJobId().equals(join.getJobId())) {
            return this;
        }
        if (stepRunning) {
            // Closing the engines under a running step would free native memory in use.
            pendingFinish = f;
            return this;
        }
        WorkerJob current = job;
        RingLink currentLink = link;
        JoinJob j = join;
        getContext().pipeToSelf(CompletableFuture.runAsync(() -> finish(current, currentLink, j, f), blocking),
                (ignored, failure) -> new JobClosed(f, failure));
        return this;
    }

    /** Rank 0 exports the model and tokenizer into the run directory; every rank closes its job. Blocking. */
    private void finish(WorkerJob current, RingLink currentLink, JoinJob j, FinishJob f) {
        try {
            if (f.getExportModel() && j.getRank() == 0) {
                Path out = Path.of(j.getOutDir());
                ModelExport.write(out, current.model(), current.parameters());
                Tokenizer.fromJson(j.getTokenizerJson()).save(out);
            }
        } catch (Exception e) {
            throw new JobException(e.getMessage(), e);
        } finally {
            current.close();
            currentLink.close();
        }
    }

    private void closeLink() {
        RingLink l = link;
        link = null;
        if (l != null) {
            l.close();
        }
    }

    private Behavior<Command> onJobClosed(JobClosed c) {
        JobFinished.Builder finished = JobFinished.newBuilder().setJobId(c.request().getJobId()).setRank(join.getRank());
        if (c.failure() != null) {
            finished.setError(rootMessage(c.failure()));
        }
        String coordinatorRef = join.getCoordinator();
        job = null;
        link = null;
        join = null;
        bestValLoss = Double.POSITIVE_INFINITY;
        reply(coordinatorRef, finished.build());
        return this;
    }

    private Behavior<Command> onStop() {
        if (job != null) {
            job.close();
            job = null;
        }
        closeLink();
        return this;
    }

    private void reply(String coordinatorRef, com.google.protobuf.Message message) {
        ActorRef<ClusterMessage> target = coordinatorRef != null && !coordinatorRef.isEmpty()
                ? resolver.resolveActorRef(coordinatorRef) : coordinator;
        if (target != null) {
            target.tell(new ClusterMessage(message));
        }
    }

    static String rootMessage(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof java.util.concurrent.CompletionException || cause instanceof JobException)
                && cause.getCause() != null && cause.getMessage() == null) {
            cause = cause.getCause();
        }
        if (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return message != null ? message : cause.getClass().getSimpleName();
    }

    /** A failure inside a job's blocking work, carried back to the actor. */
    static final class JobException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        JobException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
