package io.troupe.coordinator;

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
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.worker.actor.Inbox;
import io.troupe.worker.actor.JobSettings;
import io.troupe.worker.actor.ServiceKeys;
import io.troupe.worker.dist.BatchPlan;
import io.troupe.worker.train.LearningRateSchedule;
import io.troupe.worker.train.MetricsLog;
import io.troupe.worker.train.SummaryFile;
import io.troupe.worker.train.TrainListener;
import io.troupe.worker.train.TrainSummary;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Runs one data-parallel training job: waits for its workers, forms the ring (ranks and
 * successors), starts every step on all workers and gathers their reports, asks for
 * evaluations and checkpoints, and writes the run's metrics and summary.
 */
public final class Coordinator extends AbstractBehavior<Coordinator.Command> {

    /** The coordinator's protocol. */
    public sealed interface Command permits FromWire, StepTimedOut {
    }

    /** A cluster message from a worker. */
    record FromWire(ClusterMessage message) implements Command {
    }

    /** A step did not complete on every worker in time. */
    record StepTimedOut(long step) implements Command {
    }

    private enum Phase { WAITING, FORMING, TRAINING, FINISHING, DONE }

    private record Member(String ref, ActorRef<ClusterMessage> actor, WorkerHello hello) {
    }

    private final JobSpec spec;
    private final TrainListener listener;
    private final Consumer<JobOutcome> onDone;
    private final TimerScheduler<Command> timers;
    private final ActorRefResolver resolver;
    private final ActorRef<ClusterMessage> wire;
    private final LearningRateSchedule schedule;
    private final List<Member> members = new ArrayList<>();
    private final Map<Integer, StepDone> reports = new HashMap<>();
    private final long startNanos = System.nanoTime();
    private Phase phase = Phase.WAITING;
    private int ready;
    private int connected;
    private final Map<Integer, JobReady> dataAddresses = new HashMap<>();
    private int finished;
    private long step;
    private MetricsLog metrics;
    private long stepStartNanos;
    private double trainSeconds;
    private double computeMillis;
    private double allreduceMillis;
    private long trainedSteps;
    private double lastTrainEval = Double.NaN;
    private double lastValEval = Double.NaN;
    private double bestVal = Double.POSITIVE_INFINITY;

    /**
     * @param onDone called once with the outcome, from the actor's thread
     */
    public static Behavior<Command> create(JobSpec spec, TrainListener listener, Consumer<JobOutcome> onDone) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Coordinator(ctx, timers, spec, listener, onDone)));
    }

    private Coordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, JobSpec spec, TrainListener listener,
                        Consumer<JobOutcome> onDone) {
        super(ctx);
        this.spec = spec;
        this.listener = listener;
        this.onDone = onDone;
        this.timers = timers;
        this.resolver = ActorRefResolver.get(ctx.getSystem());
        this.wire = Inbox.spawn(ctx, "wire", ClusterMessage.class, FromWire::new);
        this.schedule = spec.settings().schedule();
        ctx.getSystem().receptionist().tell(Receptionist.register(ServiceKeys.COORDINATORS, wire));
        ctx.getLog().info("job {} waits for {} worker(s)", spec.jobId(), spec.workers());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(FromWire.class, this::onWire)
                .onMessage(StepTimedOut.class, this::onStepTimedOut)
                .onSignal(PostStop.class, s -> onStop())
                .build();
    }

    private Behavior<Command> onWire(FromWire msg) {
        Object payload = msg.message().payload();
        String jobId = jobIdOf(payload);
        if (jobId != null && !jobId.equals(spec.jobId())) {
            getContext().getLog().warn("ignoring a {} for job {} (this is job {})", payload.getClass().getSimpleName(),
                    jobId, spec.jobId());
            return this;
        }
        if (payload instanceof WorkerHello hello) {
            return onHello(hello);
        } else if (payload instanceof JobReady r) {
            return onReady(r);
        } else if (payload instanceof RingReady r) {
            return onRingReady(r);
        } else if (payload instanceof StepDone d) {
            return onStepDone(d);
        } else if (payload instanceof StepFailed f) {
            return fail("worker rank " + f.getRank() + " failed step " + f.getStep() + ": " + f.getError());
        } else if (payload instanceof JobFinished f) {
            return onFinished(f);
        }
        getContext().getLog().warn("ignoring unexpected {}", payload.getClass().getSimpleName());
        return this;
    }

    private static String jobIdOf(Object payload) {
        if (payload instanceof JobReady r) {
            return r.getJobId();
        } else if (payload instanceof RingReady r) {
            return r.getJobId();
        } else if (payload instanceof StepDone d) {
            return d.getJobId();
        } else if (payload instanceof StepFailed f) {
            return f.getJobId();
        } else if (payload instanceof JobFinished f) {
            return f.getJobId();
        }
        return null;
    }

    /** True when {@code ref} lives on this node or on an Up member of the cluster. */
    private boolean isMember(ActorRef<?> ref) {
        org.apache.pekko.actor.Address address = ref.path().address();
        if (address.host().isEmpty()) {
            return true;
        }
        for (org.apache.pekko.cluster.Member m : Cluster.get(getContext().getSystem()).state().getMembers()) {
            if (m.address().equals(address) && m.status() == org.apache.pekko.cluster.MemberStatus.up()) {
                return true;
            }
        }
        return false;
    }

    private Behavior<Command> onHello(WorkerHello hello) {
        ActorRef<ClusterMessage> worker = resolver.resolveActorRef(hello.getWorker());
        if (!isMember(worker)) {
            getContext().getLog().warn("ignoring a hello from {}, which is not an Up member of the cluster",
                    hello.getWorker());
            return this;
        }
        if (!hello.getTroupeVersion().equals(spec.version())) {
            worker.tell(new ClusterMessage(JobFinished.newBuilder().setError("this coordinator runs Troupe "
                    + spec.version() + " but the worker runs " + hello.getTroupeVersion()
                    + "; run the same troupe.jar on every node").build()));
            getContext().getLog().warn("refused a worker of version {} at {}", hello.getTroupeVersion(), hello.getWorker());
            return this;
        }
        if (members.stream().anyMatch(m -> m.ref().equals(hello.getWorker()))) {
            return this;
        }
        if (phase != Phase.WAITING) {
            worker.tell(new ClusterMessage(JobFinished.newBuilder()
                    .setError("job " + spec.jobId() + " already has its " + spec.workers() + " workers").build()));
            return this;
        }
        members.add(new Member(hello.getWorker(), worker, hello));
        getContext().getLog().info("worker {}/{} joined ({} threads, {}, data plane on {})", members.size(),
                spec.workers(), hello.getThreads(), hello.getDevice(), hello.getDataHost());
        if (members.size() == spec.workers()) {
            formRing();
        }
        return this;
    }

    /** Ranks in order of arrival; each worker's successor is the next rank, the last wraps to 0. */
    private void formRing() {
        phase = Phase.FORMING;
        int n = members.size();
        String settingsJson = JobSettings.toJson(spec.settings());
        String self = resolver.toSerializationFormat(wire);
        for (int rank = 0; rank < n; rank++) {
            BatchPlan plan = BatchPlan.of(spec.settings().batchSize(), spec.settings().gradAccum(), n, rank);
            members.get(rank).actor().tell(new ClusterMessage(JoinJob.newBuilder()
                    .setCoordinator(self)
                    .setJobId(spec.jobId())
                    .setRank(rank)
                    .setWorldSize(n)
                    .setSettingsJson(settingsJson)
                    .setTokenizerJson(spec.tokenizer().toJson())
                    .setDataPath(spec.dataPath().toString())
                    .setDataSha256(spec.dataSha256())
                    .setMicroBatch(plan.microBatch())
                    .setGradAccum(plan.accumulation())
                    .setGlobalBatch(spec.settings().batchSize())
                    .setOutDir(spec.outDir().toString())
                    .setWire(spec.wire().name().toLowerCase(java.util.Locale.ROOT))
                    .build()));
        }
    }

    private Behavior<Command> onReady(JobReady r) {
        if (!r.getOk()) {
            return fail("worker rank " + r.getRank() + " could not join the job: " + r.getError());
        }
        dataAddresses.put(r.getRank(), r);
        if (++ready == members.size()) {
            // Every rank's ring server is bound: link each to its successor.
            for (int rank = 0; rank < members.size(); rank++) {
                JobReady successor = dataAddresses.get((rank + 1) % members.size());
                members.get(rank).actor().tell(new ClusterMessage(ConnectRing.newBuilder().setJobId(spec.jobId())
                        .setSuccessorHost(successor.getDataHost()).setSuccessorPort(successor.getDataPort()).build()));
            }
        }
        return this;
    }

    private Behavior<Command> onRingReady(RingReady r) {
        if (!r.getOk()) {
            return fail("worker rank " + r.getRank() + " could not link the ring: " + r.getError());
        }
        if (++connected == members.size()) {
            try {
                metrics = MetricsLog.open(spec.outDir());
            } catch (IOException e) {
                return fail("cannot write " + spec.outDir().resolve("metrics.jsonl") + ": " + e.getMessage());
            }
            phase = Phase.TRAINING;
            listener.onStart(0, spec.settings().maxIters(), 0);
            startStep(1);
        }
        return this;
    }

    private void startStep(long next) {
        step = next;
        reports.clear();
        boolean evaluate = step % spec.settings().evalInterval() == 0 || step == spec.settings().maxIters();
        boolean checkpoint = spec.settings().checkpointInterval() == 0 ? evaluate
                : step % spec.settings().checkpointInterval() == 0 || step == spec.settings().maxIters();
        boolean verify = step % spec.verifyInterval() == 0 || step == spec.settings().maxIters();
        RunStep run = RunStep.newBuilder().setJobId(spec.jobId()).setStep(step).setLr(schedule.at(step - 1))
                .setEvaluate(evaluate).setCheckpoint(checkpoint).setVerifyParams(verify).build();
        stepStartNanos = System.nanoTime();
        for (Member m : members) {
            m.actor().tell(new ClusterMessage(run));
        }
        timers.startSingleTimer("step", new StepTimedOut(step), spec.stepTimeout());
    }

    private Behavior<Command> onStepDone(StepDone d) {
        if (phase != Phase.TRAINING || d.getStep() != step) {
            return this;
        }
        reports.put(d.getRank(), d);
        if (reports.size() < members.size()) {
            return this;
        }
        timers.cancel("step");
        double seconds = (System.nanoTime() - stepStartNanos) / 1e9;
        trainSeconds += seconds;
        trainedSteps++;
        double loss = 0;
        long checksum = reports.get(0).getParamChecksum();
        boolean evaluated = reports.get(0).getEvalBatches() > 0;
        double trainEval = 0;
        double valEval = 0;
        for (int rank = 0; rank < members.size(); rank++) {
            StepDone r = reports.get(rank);
            BatchPlan plan = BatchPlan.of(spec.settings().batchSize(), spec.settings().gradAccum(), members.size(), rank);
            loss += r.getLoss() * plan.rows() / spec.settings().batchSize();
            if (r.getParamChecksum() != checksum) {
                return fail("parameters diverged between workers at step " + step + " (rank 0 checksum " + checksum
                        + ", rank " + rank + " checksum " + r.getParamChecksum() + ")");
            }
            trainEval += r.getTrainEvalLoss() / members.size();
            computeMillis += r.getComputeMs() / members.size();
            allreduceMillis += r.getAllreduceMs() / members.size();
            valEval += r.getValEvalLoss() / members.size();
        }
        if (!Double.isFinite(loss)) {
            return fail("training diverged: the loss is " + loss + " at step " + step
                    + "; lower learning_rate or raise warmup_iters");
        }
        double lr = schedule.at(step - 1);
        double tokensPerSecond = (double) spec.settings().batchSize() * spec.settings().blockSize() / seconds;
        listener.onStep(new TrainListener.StepStats(step, spec.settings().maxIters(), loss, lr,
                reports.get(0).getGradNorm(), tokensPerSecond, seconds * 1000));
        MetricsLog.Entry entry = MetricsLog.Entry.train(step, loss, lr, tokensPerSecond);
        if (evaluated) {
            lastTrainEval = trainEval;
            lastValEval = valEval;
            bestVal = Math.min(bestVal, valEval);
            entry = entry.withValLoss(valEval);
            listener.onEval(step, trainEval, valEval);
        }
        try {
            if (evaluated || step % spec.settings().logInterval() == 0) {
                metrics.append(entry);
            }
        } catch (IOException e) {
            return fail("cannot append to metrics.jsonl: " + e.getMessage());
        }
        boolean stopped = step < spec.settings().maxIters() && listener.stopRequested();
        if (step < spec.settings().maxIters() && !stopped) {
            startStep(step + 1);
        } else {
            // A stop request (a pruned trial) ends the job here without exporting a model.
            phase = Phase.FINISHING;
            FinishJob finish = FinishJob.newBuilder().setJobId(spec.jobId()).setExportModel(!stopped).build();
            members.forEach(m -> m.actor().tell(new ClusterMessage(finish)));
        }
        return this;
    }

    private Behavior<Command> onFinished(JobFinished f) {
        if (!f.getError().isEmpty() && phase != Phase.DONE) {
            return fail("worker rank " + f.getRank() + " could not finish: " + f.getError());
        }
        if (phase == Phase.FINISHING && ++finished == members.size()) {
            TrainSummary summary = new TrainSummary(step, lastTrainEval, lastValEval, bestVal,
                    trainedSteps * (double) spec.settings().batchSize() * spec.settings().blockSize() / trainSeconds,
                    (System.nanoTime() - startNanos) / 1e9,
                    ParameterLayout.of(spec.settings().model(spec.tokenizer().vocabSize())).size());
            try {
                // Mean per step over workers: forward+backward vs the gradient all-reduce.
                SummaryFile.write(spec.outDir(), summary, spec.settings(), spec.tokenizer().vocabSize(),
                        spec.tokenizer().type(), members.size(), java.util.Map.of(
                                "compute_ms_per_step", computeMillis / trainedSteps,
                                "allreduce_ms_per_step", allreduceMillis / trainedSteps,
                                "step_ms", 1000 * trainSeconds / trainedSteps));
            } catch (IOException e) {
                return fail("cannot write summary.json: " + e.getMessage());
            }
            phase = Phase.DONE;
            onDone.accept(new JobOutcome(summary, null));
            return Behaviors.stopped();
        }
        return this;
    }

    private Behavior<Command> onStepTimedOut(StepTimedOut t) {
        if (phase != Phase.TRAINING || t.step() != step) {
            return this;
        }
        List<Integer> missing = new ArrayList<>();
        for (int rank = 0; rank < members.size(); rank++) {
            if (!reports.containsKey(rank)) {
                missing.add(rank);
            }
        }
        return fail("worker rank(s) " + missing + " did not finish step " + step + " within " + spec.stepTimeout().toSeconds()
                + " s; check that those workers are alive and reachable");
    }

    private Behavior<Command> fail(String reason) {
        if (phase == Phase.DONE) {
            return this;
        }
        getContext().getLog().error("job {} failed: {}", spec.jobId(), reason);
        phase = Phase.DONE;
        FinishJob abort = FinishJob.newBuilder().setJobId(spec.jobId()).setExportModel(false).build();
        members.forEach(m -> m.actor().tell(new ClusterMessage(abort)));
        onDone.accept(new JobOutcome(null, reason));
        return Behaviors.stopped();
    }

    private Behavior<Command> onStop() {
        if (metrics != null) {
            try {
                metrics.close();
            } catch (IOException e) {
                getContext().getLog().warn("closing metrics.jsonl failed: {}", e.getMessage());
            }
        }
        return this;
    }
}
