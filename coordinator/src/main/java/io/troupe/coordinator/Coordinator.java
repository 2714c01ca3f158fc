package io.troupe.coordinator;

import io.troupe.data.source.DataSource;
import io.troupe.model.gpt.ParameterLayout;
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
import io.troupe.worker.actor.Inbox;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.actor.ServiceKeys;
import io.troupe.worker.plane.StateExchange;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.SampleLedger;
import io.troupe.worker.job.SampleOrder;
import io.troupe.worker.train.NonFiniteSteps;
import io.troupe.worker.train.Cadence;
import io.troupe.worker.train.LearningRateSchedule;
import io.troupe.worker.run.MetricsLog;
import io.troupe.worker.run.SummaryFile;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.run.TrainSummary;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
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
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Runs one elastic data-parallel training job. It prepares every worker that offers itself,
 * forms a ring of up to max-workers of them, and drives the steps, giving each ring member its
 * exact share of each global batch (numbered samples, so every sample of an epoch is trained
 * on once, whatever happens).
 *
 * <p>When a step fails (a worker died, its ring broke, a deadline passed) or membership
 * changes at a step boundary (a worker joined, asked to leave, or drifted), the coordinator
 * re-forms the ring: it probes every live worker for its step and parameter checksum, plans
 * the next ring with {@link RingPlanner} (continue from the most advanced state; whoever is
 * behind or differs fetches it from a peer), forms it and retries the interrupted step. Below
 * min-workers the job pauses until enough workers are back. Each re-form is a new ring
 * generation; messages of older generations are ignored.
 */
public final class Coordinator extends AbstractBehavior<Coordinator.Command> {

    /** The coordinator's protocol. */
    public sealed interface Command permits FromWire, StepTimedOut, ProbeTimedOut, FormTimedOut, NodeLost {
    }

    /** A cluster message from a worker. */
    record FromWire(JobMessage message) implements Command {
    }

    /** A step did not complete on every worker in time. */
    record StepTimedOut(long generation, long step) implements Command {
    }

    /** Not every probed worker answered in time. */
    record ProbeTimedOut(long generation) implements Command {
    }

    /** The ring of a generation was not formed in time. */
    record FormTimedOut(long generation) implements Command {
    }

    /** A cluster node became unreachable or was removed. */
    record NodeLost(org.apache.pekko.actor.Address address, String why) implements Command {
    }

    /** How long a probe still waits for a worker whose neighbour saw its link break. */
    private static final Duration SUSPECT_GRACE = Duration.ofMillis(200);

    private enum Phase { WAITING, PROBING, FORMING, CONNECTING, TRAINING, PAUSED, FINISHING, DONE }

    private enum Status { PREPARING, READY, GONE }

    /** A worker that offered itself to this job. */
    private static final class Worker {
        final String ref;
        final ActorRef<JobMessage> actor;
        final WorkerHello hello;
        final int seedRank;
        Status status = Status.PREPARING;
        InetSocketAddress stateAddress;
        boolean leaving;
        ProbeReply probe;
        JobReady ringAddress;
        boolean linked;

        Worker(String ref, ActorRef<JobMessage> actor, WorkerHello hello, int seedRank) {
            this.ref = ref;
            this.actor = actor;
            this.hello = hello;
            this.seedRank = seedRank;
        }

        void tell(JobMessage message) {
            actor.tell(message);
        }
    }

    private final JobSpec spec;
    private final ElasticPolicy policy;
    private final TrainListener listener;
    private final Consumer<JobOutcome> onDone;
    private final TimerScheduler<Command> timers;
    private final ActorRefResolver resolver;
    private final ActorRef<JobMessage> wire;
    private final StateExchange coordinatorState;
    private final Consumer<ActorRef<JobMessage>> announce;
    private final LearningRateSchedule schedule;
    private final int globalBatch;
    private final long startNanos = System.nanoTime();
    private final Map<String, Worker> workers = new LinkedHashMap<>();
    private final List<Worker> ring = new ArrayList<>();
    /** The last ring formed: a pause empties {@link #ring}, but membership changes count against this. */
    private final List<Worker> lastFormed = new ArrayList<>();
    private long formedGeneration = -1;
    /** Workers whose ring links broke under their neighbours since the ring was formed. */
    private final java.util.Set<String> suspects = new java.util.HashSet<>();
    private final Map<Integer, StepDone> reports = new HashMap<>();
    private final List<Double> recoverySeconds = new ArrayList<>();
    private Phase phase = Phase.WAITING;
    private long generation;
    private int joined;
    private long committed;
    private long fallbackStep = -1;
    private SampleLedger ledger;
    private long membershipChanges;
    private NonFiniteSteps nonFinite;
    private boolean changePending;
    private long recoveringSinceNanos;
    private int failedForms;
    private String lastFailure;
    private MetricsLog metrics;
    private long stepStartNanos;
    private double slowestRecentStepSeconds;
    private double trainSeconds;
    private double computeMillis;
    private double allreduceMillis;
    private long trainedSteps;
    private double lastTrainEval = Double.NaN;
    private double lastValEval = Double.NaN;
    private double bestVal = Double.POSITIVE_INFINITY;
    private int ringSizeAtFinish;
    private final java.util.Set<Integer> finishedRanks = new java.util.HashSet<>();

    /**
     * @param coordinatorState where this coordinator serves a resumed checkpoint to workers (may
     *     be null when the job does not resume)
     * @param onDone called once with the outcome, from the actor's thread
     */
    public static Behavior<Command> create(JobSpec spec, StateExchange coordinatorState, TrainListener listener,
                                           Consumer<JobOutcome> onDone) {
        return create(spec, coordinatorState, listener, onDone, null);
    }

    /**
     * @param announce where the coordinator's wire is handed instead of the receptionist (a
     *     {@link WorkerPool} that sends it workers), or null to register with the receptionist
     */
    public static Behavior<Command> create(JobSpec spec, StateExchange coordinatorState, TrainListener listener,
                                           Consumer<JobOutcome> onDone, Consumer<ActorRef<JobMessage>> announce) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
                new Coordinator(ctx, timers, spec, coordinatorState, listener, onDone, announce).started()));
    }

    private Coordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, JobSpec spec,
                        StateExchange coordinatorState, TrainListener listener, Consumer<JobOutcome> onDone,
                        Consumer<ActorRef<JobMessage>> announce) {
        super(ctx);
        this.announce = announce;
        this.spec = spec;
        this.policy = spec.elastic();
        this.listener = listener;
        this.onDone = onDone;
        this.timers = timers;
        this.coordinatorState = coordinatorState;
        this.resolver = ActorRefResolver.get(ctx.getSystem());
        this.wire = Inbox.spawn(ctx, "wire", JobMessage.class, FromWire::new);
        this.schedule = spec.settings().schedule();
        this.globalBatch = spec.settings().batchSize();
        this.nonFinite = NonFiniteSteps.of(spec.settings());
        ActorRef<ClusterEvent.UnreachableMember> reachability = ctx.messageAdapter(ClusterEvent.UnreachableMember.class,
                e -> new NodeLost(e.member().address(), "unreachable"));
        ActorRef<ClusterEvent.MemberRemoved> removals = ctx.messageAdapter(ClusterEvent.MemberRemoved.class,
                e -> new NodeLost(e.member().address(), "removed from the cluster"));
        Cluster cluster = Cluster.get(ctx.getSystem());
        cluster.subscriptions().tell(Subscribe.create(reachability, ClusterEvent.UnreachableMember.class));
        cluster.subscriptions().tell(Subscribe.create(removals, ClusterEvent.MemberRemoved.class));
        ctx.getLog().info("job {} waits for {} worker(s) (min {}, max {})", spec.jobId(), spec.workers(),
                policy.minWorkers(), policy.maxWorkers());
    }

    /** Opens the data once to count samples per epoch, and the resumed state if any. Called before registering. */
    private Optional<String> start() {
        try {
            DataSource data = DataSource.open(spec.dataPath()).requireSha256(spec.dataSha256(), "the job's")
                    .withTokenizer(spec.tokenizer(), "the job's");
            getContext().getLog().info("job {} trains on {}", spec.jobId(), data.description());
            long trainTokens = data.split(spec.settings().blockSize()).train().length();
            int perEpoch = SampleOrder.samplesPerEpoch(trainTokens, spec.settings().blockSize());
            if (spec.resume()) {
                Optional<String> failure = resume(perEpoch);
                if (failure.isPresent()) {
                    return failure;
                }
            } else {
                ledger = new SampleLedger(perEpoch, 0);
                JobFile.of(spec).write(spec.outDir());
            }
            metrics = spec.resume() && committed > 0 ? MetricsLog.resume(spec.outDir(), committed)
                    : MetricsLog.open(spec.outDir());
        } catch (Exception e) {
            return Optional.of(e.getMessage());
        }
        if (announce != null) {
            announce.accept(wire);
        } else {
            getContext().getSystem().receptionist().tell(Receptionist.register(ServiceKeys.COORDINATORS, wire));
        }
        return Optional.empty();
    }

    /** Takes over the newest good checkpoint and the fault counters of a crashed coordinator. */
    private Optional<String> resume(int perEpoch) throws Exception {
        String identity = JobSettings.resumeIdentity(spec.settings(), spec.tokenizer().vocabSize());
        CheckpointStore store = new CheckpointStore(spec.outDir(), spec.settings().keepCheckpoints());
        Optional<Checkpoint> latest = store.latest(identity);
        if (latest.isEmpty()) {
            return Optional.of("there is no checkpoint to resume in " + store.directory()
                    + "; start the job without --resume");
        }
        Checkpoint c = latest.get();
        if (c.trainingStep() > spec.settings().maxIters()) {
            return Optional.of("the newest checkpoint is at step " + c.trainingStep() + ", past max_iters = "
                    + spec.settings().maxIters() + "; resume with --steps " + c.trainingStep() + " or more");
        }
        committed = c.trainingStep();
        fallbackStep = committed;
        coordinatorState.offer(spec.jobId(), committed, c);
        ledger = new SampleLedger(perEpoch, committed * globalBatch);
        CoordinatorState saved = CoordinatorState.read(spec.outDir());
        if (saved != null && saved.step() == committed) {
            membershipChanges = saved.membershipChanges();
            recoverySeconds.addAll(saved.recoverySeconds());
            nonFinite = new NonFiniteSteps(spec.settings().maxNonfiniteSteps(), saved.stepsSkipped());
        } else if (saved != null) {
            getContext().getLog().warn("{} is of step {} but the newest good checkpoint is of step {}; the fault "
                    + "counters restart from there", CoordinatorState.FILE, saved.step(), committed);
        }
        getContext().getLog().info("resuming job {} from the checkpoint of step {}", spec.jobId(), committed);
        return Optional.empty();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(FromWire.class, this::onWire)
                .onMessage(StepTimedOut.class, this::onStepTimedOut)
                .onMessage(ProbeTimedOut.class, t -> t.generation() == generation && phase == Phase.PROBING
                        ? planRing() : this)
                .onMessage(FormTimedOut.class, this::onFormTimedOut)
                .onMessage(NodeLost.class, this::onNodeLost)
                .onSignal(PostStop.class, s -> onStop())
                .build();
    }

    /** Starts the coordinator: a behaviour that fails the job at once when the corpus or resume state is bad. */
    Behavior<Command> started() {
        Optional<String> failure = start();
        return failure.isPresent() ? fail(failure.get()) : this;
    }

    private Behavior<Command> onWire(FromWire msg) {
        JobMessage payload = msg.message();
        if (payload instanceof WorkerHello hello) {
            return onHello(hello);
        } else if (payload instanceof JobReady r) {
            return onJobReady(r);
        } else if (payload instanceof ProbeReply r) {
            return onProbeReply(r);
        } else if (payload instanceof RingReady r) {
            return onRingReady(r);
        } else if (payload instanceof StepDone d) {
            return onStepDone(d);
        } else if (payload instanceof StepFailed f) {
            return onStepFailed(f);
        } else if (payload instanceof LeaveRequest l) {
            return onLeaveRequest(l);
        } else if (payload instanceof JobFinished f) {
            return onFinished(f);
        }
        getContext().getLog().warn("ignoring unexpected {}", payload.getClass().getSimpleName());
        return this;
    }

    // ---- membership -------------------------------------------------------------------------

    /**
     * True when {@code ref} lives on this node or on an Up (or WeaklyUp) member of the cluster.
     * WeaklyUp counts: while a dead node is still unreachable the cluster cannot move newcomers
     * to Up, and a replacement worker must be able to join then.
     */
    private boolean isMember(ActorRef<?> ref) {
        org.apache.pekko.actor.Address address = ref.path().address();
        if (address.host().isEmpty()) {
            return true;
        }
        for (org.apache.pekko.cluster.Member m : Cluster.get(getContext().getSystem()).state().getMembers()) {
            if (m.address().equals(address) && (m.status() == org.apache.pekko.cluster.MemberStatus.up()
                    || m.status() == org.apache.pekko.cluster.MemberStatus.weaklyUp())) {
                return true;
            }
        }
        return false;
    }

    private Behavior<Command> onHello(WorkerHello hello) {
        ActorRef<JobMessage> actor = hello.worker();
        if (actor == null) {
            getContext().getLog().warn("ignoring a hello that names no worker");
            return this;
        }
        String ref = resolver.toSerializationFormat(actor);
        if (!isMember(actor)) {
            getContext().getLog().warn("ignoring a hello from {}, which is not an Up member of the cluster",
                    hello.worker());
            return this;
        }
        if (!hello.troupeVersion().equals(spec.version())) {
            actor.tell(new JobFinished("", 0, "this coordinator runs Troupe "
                    + spec.version() + " but the worker runs " + hello.troupeVersion()
                    + "; run the same troupe.jar on every node"));
            getContext().getLog().warn("refused a worker of version {} at {}", hello.troupeVersion(), hello.worker());
            return this;
        }
        if (known(ref) != null || phase == Phase.FINISHING || phase == Phase.DONE) {
            return this;
        }
        Worker w = new Worker(ref, actor, hello, joined++);
        workers.put(w.ref, w);
        getContext().getLog().info("worker {} offered itself ({} threads, {}, data plane on {}); preparing it",
                w.ref, hello.threads(), hello.device(), hello.dataHost());
        w.tell(new JoinJob(wire, spec.jobId(), w.seedRank % spec.workers(), spec.workers(),
                JobSettings.toJson(spec.settings()), spec.tokenizer().toJson(), spec.dataPath().toString(),
                spec.dataSha256(), 0, 0, globalBatch, spec.outDir().toString(), spec.wire(), true));
        return this;
    }

    private Worker known(ActorRef<?> ref) {
        return ref == null ? null : known(resolver.toSerializationFormat(ref));
    }

    private Worker known(String ref) {
        Worker w = workers.get(ref);
        return w == null || w.status == Status.GONE ? null : w;
    }

    private Behavior<Command> onJobReady(JobReady r) {
        Worker w = known(r.worker());
        if (w == null || !r.jobId().equals(spec.jobId())) {
            return this;
        }
        if (r.generation() < 0) {
            return onPrepared(w, r);
        }
        if (r.generation() != generation || phase != Phase.FORMING) {
            return this;
        }
        if (!r.ok()) {
            return formFailed("worker " + w.ref + " could not take rank " + r.rank() + ": " + r.error());
        }
        w.ringAddress = r;
        if (ring.stream().allMatch(m -> m.ringAddress != null)) {
            // Every rank's ring server is bound: link each to its successor.
            phase = Phase.CONNECTING;
            for (int rank = 0; rank < ring.size(); rank++) {
                JobReady successor = ring.get((rank + 1) % ring.size()).ringAddress;
                ring.get(rank).tell(new ConnectRing(spec.jobId(), successor.dataHost(), successor.dataPort(),
                        generation));
            }
        }
        return this;
    }

    private Behavior<Command> onPrepared(Worker w, JobReady r) {
        if (!r.ok()) {
            getContext().getLog().error("worker {} could not prepare job {}: {}", w.ref, spec.jobId(), r.error());
            w.status = Status.GONE;
            if (phase == Phase.WAITING && workers.values().stream().noneMatch(x -> x.status != Status.GONE)) {
                return fail("worker " + w.ref + " could not join the job: " + r.error());
            }
            return this;
        }
        w.status = Status.READY;
        w.stateAddress = new InetSocketAddress(r.stateHost(), r.statePort());
        long ready = workers.values().stream().filter(x -> x.status == Status.READY && !x.leaving).count();
        switch (phase) {
            case WAITING -> {
                if (ready >= spec.workers()) {
                    return reform("starting with " + ready + " worker(s)", false);
                }
                getContext().getLog().info("{} of {} worker(s) ready", ready, spec.workers());
            }
            case PAUSED -> {
                if (ready >= policy.minWorkers()) {
                    return reform("enough workers again", false);
                }
            }
            case TRAINING, PROBING, FORMING, CONNECTING -> {
                if (ring.size() < policy.maxWorkers()) {
                    changePending = true; // takes its place at the next step boundary
                }
            }
            default -> {
            }
        }
        return this;
    }

    private Behavior<Command> onLeaveRequest(LeaveRequest l) {
        Worker w = known(l.worker());
        if (w == null) {
            return this;
        }
        getContext().getLog().info("worker {} asked to leave", w.ref);
        w.leaving = true;
        if (!ring.contains(w)) {
            release(w);
        } else {
            changePending = true;
        }
        return this;
    }

    /** Lets a worker go: it closes its job and, if it asked to leave, stops. */
    private void release(Worker w) {
        w.status = Status.GONE;
        w.tell(new FinishJob(spec.jobId(), false));
    }

    private Behavior<Command> onNodeLost(NodeLost lost) {
        List<Worker> gone = new ArrayList<>();
        for (Worker w : workers.values()) {
            if (w.status != Status.GONE && w.actor.path().address().equals(lost.address())) {
                w.status = Status.GONE;
                gone.add(w);
            }
        }
        if (gone.isEmpty()) {
            return this;
        }
        boolean inRing = gone.stream().anyMatch(ring::contains);
        getContext().getLog().warn("node {} is {}: lost worker(s) {}", lost.address(), lost.why(),
                gone.stream().map(w -> w.ref).toList());
        if (phase == Phase.FINISHING) {
            return lostWhileFinishing(gone);
        }
        if (!inRing) {
            return this;
        }
        return switch (phase) {
            case TRAINING, FORMING, CONNECTING -> reform("worker on " + lost.address() + " " + lost.why(), true);
            case PROBING -> allProbed() ? planRing() : this;
            default -> this;
        };
    }

    // ---- re-forming the ring ------------------------------------------------------------------

    /** Ends the current ring and probes every live worker; {@link #planRing} follows. */
    private Behavior<Command> reform(String why, boolean failure) {
        if (failure && recoveringSinceNanos == 0) {
            recoveringSinceNanos = System.nanoTime();
        }
        generation++;
        phase = Phase.PROBING;
        changePending = false;
        timers.cancel("step");
        timers.cancel("form");
        reports.clear();
        getContext().getLog().info("generation {}: re-forming the ring ({})", generation, why);
        Probe probe = new Probe(spec.jobId(), generation);
        for (Worker w : workers.values()) {
            w.probe = null;
            w.ringAddress = null;
            w.linked = false;
            if (w.status == Status.READY) {
                w.tell(probe);
            }
        }
        Duration wait = policy.probeTimeout();
        long slowest = (long) (2000 * slowestRecentStepSeconds);
        if (slowest > wait.toMillis()) {
            wait = Duration.ofMillis(slowest);
        }
        if (!failure) {
            // Nobody is known to have died: give every worker time (a cold JVM encodes its first
            // state slowly); a dead one is still noticed by the failure detector meanwhile.
            wait = policy.formTimeout();
        }
        timers.startSingleTimer("probe", new ProbeTimedOut(generation), wait);
        if (allProbed()) {
            return planRing();
        }
        return onlySuspectsSilent() ? awaitSuspects() : this;
    }

    /** True when every worker that has not answered the probe is a suspect (and some has not). */
    private boolean onlySuspectsSilent() {
        boolean silentSuspect = false;
        for (Worker w : workers.values()) {
            if (w.status == Status.READY && w.probe == null) {
                if (!suspects.contains(w.ref)) {
                    return false;
                }
                silentSuspect = true;
            }
        }
        return silentSuspect;
    }

    /**
     * Everyone but the suspects has answered: give the suspects a short grace (a live worker
     * answers in milliseconds), then form the ring without them.
     */
    private Behavior<Command> awaitSuspects() {
        if (!timers.isTimerActive("suspects")) {
            timers.startSingleTimer("suspects", new ProbeTimedOut(generation), SUSPECT_GRACE);
        }
        return this;
    }

    private boolean allProbed() {
        return workers.values().stream().filter(w -> w.status == Status.READY).allMatch(w -> w.probe != null);
    }

    private Behavior<Command> onProbeReply(ProbeReply r) {
        Worker w = known(r.worker());
        if (w == null || r.generation() != generation || phase != Phase.PROBING) {
            return this;
        }
        w.probe = r;
        if (allProbed()) {
            return planRing();
        }
        return onlySuspectsSilent() ? awaitSuspects() : this;
    }

    /** Plans and forms the next ring from the workers that answered the probe. */
    private Behavior<Command> planRing() {
        timers.cancel("probe");
        timers.cancel("suspects");
        List<Worker> previous = new ArrayList<>(lastFormed);
        for (Worker w : workers.values()) {
            if (w.status == Status.READY && w.probe == null) {
                getContext().getLog().warn("worker {} did not answer within the probe timeout; leaving it out", w.ref);
                release(w); // if it is alive after all, it closes the job and offers itself again
            }
        }
        for (Worker w : List.copyOf(workers.values())) {
            if (w.status == Status.READY && w.leaving) {
                release(w);
            }
        }
        List<Worker> candidates = new ArrayList<>();
        for (Worker w : previous) {
            if (w.status == Status.READY) {
                candidates.add(w);
            }
        }
        for (Worker w : workers.values()) {
            if (w.status == Status.READY && !candidates.contains(w)) {
                candidates.add(w);
            }
        }
        if (candidates.size() < policy.minWorkers()) {
            ring.clear();
            phase = Phase.PAUSED;
            getContext().getLog().warn("job {} paused at step {}: {} worker(s) available, --min-workers is {}; start "
                    + "more workers ('troupe worker --join ...') and it continues", spec.jobId(), committed,
                    candidates.size(), policy.minWorkers());
            return this;
        }
        List<RingPlanner.Candidate> offered = new ArrayList<>();
        for (Worker w : candidates) {
            offered.add(new RingPlanner.Candidate(w.ref, w.probe.step(), w.probe.paramChecksum(), w.stateAddress));
        }
        InetSocketAddress fallback = fallbackStep >= 0 && coordinatorState != null ? coordinatorState.address() : null;
        long fallbackAt = Math.max(fallbackStep, committed);
        RingPlanner.Plan plan = RingPlanner.plan(offered, policy.maxWorkers(), fallbackAt, fallback);
        if (plan.step() < committed) {
            // Nobody who holds the committed state survived and no checkpoint is served.
            return fail("every worker that held the state of step " + committed + " is gone; resume the job from its "
                    + "last checkpoint with 'troupe coordinator --resume " + spec.outDir() + "'");
        }
        if (plan.step() == committed + 1) {
            // A worker finished the interrupted step: its update includes every gradient of it.
            commitSamples(committed + 1, null);
            committed++;
            getContext().getLog().info("step {} completed on some worker before the failure; it counts", committed);
        }
        ring.clear();
        for (String ref : plan.ring()) {
            ring.add(workers.get(ref));
        }
        if (!previous.isEmpty() && !previous.equals(ring)) {
            long added = ring.stream().filter(w -> !previous.contains(w)).count();
            long removed = previous.stream().filter(w -> !ring.contains(w)).count();
            membershipChanges += added + removed;
        }
        lastFormed.clear();
        lastFormed.addAll(ring);
        formedGeneration = generation;
        suspects.clear();
        phase = Phase.FORMING;
        for (int rank = 0; rank < ring.size(); rank++) {
            Worker w = ring.get(rank);
            InetSocketAddress source = plan.syncFrom().get(w.ref);
            w.tell(source == null ? new FormRing(spec.jobId(), generation, rank, ring.size(), "", 0, 0)
                    : new FormRing(spec.jobId(), generation, rank, ring.size(), source.getHostString(),
                            source.getPort(), plan.step()));
        }
        getContext().getLog().info("generation {}: ring of {} worker(s) continues after step {}{}", generation,
                ring.size(), plan.step(), plan.syncFrom().isEmpty() ? "" : " (" + plan.syncFrom().size() + " syncing)");
        timers.startSingleTimer("form", new FormTimedOut(generation), policy.formTimeout());
        return this;
    }

    private Behavior<Command> onFormTimedOut(FormTimedOut t) {
        if (t.generation() != generation || (phase != Phase.FORMING && phase != Phase.CONNECTING)) {
            return this;
        }
        return formFailed("the ring of generation " + generation + " was not formed within "
                + policy.formTimeout().toSeconds() + " s");
    }

    private Behavior<Command> formFailed(String why) {
        if (++failedForms > 5) {
            return fail("could not form a ring 5 times in a row; the last reason: " + why);
        }
        getContext().getLog().warn("{}; trying again", why);
        return reform(why, true);
    }

    private Behavior<Command> onRingReady(RingReady r) {
        if (r.generation() != generation || phase != Phase.CONNECTING || !r.jobId().equals(spec.jobId())) {
            return this;
        }
        if (!r.ok()) {
            return formFailed("rank " + r.rank() + " could not link the ring: " + r.error());
        }
        if (r.rank() >= 0 && r.rank() < ring.size()) {
            ring.get(r.rank()).linked = true;
        }
        if (ring.stream().allMatch(m -> m.linked)) {
            timers.cancel("form");
            failedForms = 0;
            phase = Phase.TRAINING;
            if (trainedSteps == 0 && recoverySeconds.isEmpty()) {
                listener.onStart(committed, spec.settings().maxIters(), parameterCount());
            }
            return nextStepOrFinish();
        }
        return this;
    }

    private long parameterCount() {
        return ParameterLayout.of(spec.settings().model(spec.tokenizer().vocabSize())).size();
    }

    // ---- steps ----------------------------------------------------------------------------------

    private Behavior<Command> nextStepOrFinish() {
        boolean stopped = committed < spec.settings().maxIters() && committed > 0 && listener.stopRequested();
        if (committed >= spec.settings().maxIters() || stopped) {
            // A stop request (a pruned trial) ends the job here without exporting a model.
            phase = Phase.FINISHING;
            ringSizeAtFinish = ring.size();
            FinishJob finish = new FinishJob(spec.jobId(), !stopped);
            ring.forEach(w -> w.tell(finish));
            for (Worker w : workers.values()) {
                if (w.status == Status.READY && !ring.contains(w)) {
                    release(w);
                }
            }
            return this;
        }
        if (changePending) {
            return reform("membership changed", false);
        }
        startStep(committed + 1);
        return this;
    }

    private void startStep(long step) {
        reports.clear();
        Cadence cadence = Cadence.of(spec.settings());
        boolean evaluate = cadence.evaluates(step);
        boolean checkpoint = cadence.checkpoints(step);
        boolean verify = step % spec.verifyInterval() == 0 || step == spec.settings().maxIters();
        long stepStart = (step - 1) * globalBatch;
        stepStartNanos = System.nanoTime();
        for (int rank = 0; rank < ring.size(); rank++) {
            ElasticShare share = ElasticShare.of(globalBatch, spec.settings().gradAccum(), ring.size(), rank, stepStart);
            ring.get(rank).tell(new RunStep(spec.jobId(), step, schedule.at(step - 1), evaluate, checkpoint, verify,
                    generation, share.sampleFrom(), share.rows(), share.microBatch(), share.accumulation(), ring.size(),
                    globalBatch));
        }
        timers.startSingleTimer("step", new StepTimedOut(generation, step), spec.stepTimeout());
    }

    private Behavior<Command> onStepFailed(StepFailed f) {
        int suspect = f.suspectRank() != null ? f.suspectRank().orElse(-1) : -1;
        if (suspect >= 0 && f.generation() == formedGeneration && suspect < lastFormed.size()) {
            // A neighbour's link broke: that worker is probably dead, so a probe need not wait long for it.
            suspects.add(lastFormed.get(suspect).ref);
            if (phase == Phase.PROBING) {
                return onlySuspectsSilent() ? awaitSuspects() : this;
            }
        }
        if (phase != Phase.TRAINING || f.generation() != generation || f.step() != committed + 1) {
            return this;
        }
        lastFailure = "rank " + f.rank() + " failed step " + f.step() + ": " + f.error();
        getContext().getLog().warn("{}", lastFailure);
        return reform(lastFailure, true);
    }

    private Behavior<Command> onStepTimedOut(StepTimedOut t) {
        if (phase != Phase.TRAINING || t.generation() != generation || t.step() != committed + 1) {
            return this;
        }
        List<Integer> missing = new ArrayList<>();
        for (int rank = 0; rank < ring.size(); rank++) {
            if (!reports.containsKey(rank)) {
                missing.add(rank);
            }
        }
        return reform("rank(s) " + missing + " did not finish step " + t.step() + " within "
                + spec.stepTimeout().toSeconds() + " s", true);
    }

    private Behavior<Command> onStepDone(StepDone d) {
        long step = committed + 1;
        if (phase != Phase.TRAINING || d.generation() != generation || d.step() != step) {
            return this;
        }
        reports.put(d.rank(), d);
        if (reports.size() < ring.size()) {
            return this;
        }
        timers.cancel("step");
        double seconds = (System.nanoTime() - stepStartNanos) / 1e9;
        slowestRecentStepSeconds = Math.max(seconds, 0.9 * slowestRecentStepSeconds);
        trainSeconds += seconds;
        trainedSteps++;
        double loss = 0;
        double trainEval = 0;
        double valEval = 0;
        boolean evaluated = reports.get(0).evalBatches() > 0;
        boolean skipped = false;
        for (int rank = 0; rank < ring.size(); rank++) {
            StepDone r = reports.get(rank);
            loss += r.loss() * r.rows() / globalBatch;
            trainEval += r.trainEvalLoss() / ring.size();
            valEval += r.valEvalLoss() / ring.size();
            computeMillis += r.computeMs() / ring.size();
            allreduceMillis += r.allreduceMs() / ring.size();
            skipped |= r.skipped();
        }
        commitSamples(step, reports);
        committed = step;
        if (recoveringSinceNanos != 0) {
            double recovery = (System.nanoTime() - recoveringSinceNanos) / 1e9;
            recoverySeconds.add(recovery);
            recoveringSinceNanos = 0;
            getContext().getLog().info("recovered: step {} completed {} s after the failure", step,
                    String.format(Locale.ROOT, "%.2f", recovery));
        }
        if (nonFinite.record(skipped)) {
            return fail(nonFinite.divergedMessage(step, "the newest in " + spec.outDir().resolve(CheckpointStore.DIRECTORY)));
        } else if (skipped) {
            getContext().getLog().warn("step {}: the loss or averaged gradient is not finite; the update was skipped "
                    + "({} in a row)", step, nonFinite.inARow());
        }
        checkParameters(step);
        double lr = schedule.at(step - 1);
        double tokensPerSecond = (double) globalBatch * spec.settings().blockSize() / seconds;
        listener.onStep(new TrainListener.StepStats(step, spec.settings().maxIters(), loss, lr,
                reports.get(0).gradNorm(), tokensPerSecond, seconds * 1000));
        MetricsLog.Entry entry = MetricsLog.Entry.train(step, loss, lr, tokensPerSecond);
        if (evaluated) {
            lastTrainEval = trainEval;
            lastValEval = valEval;
            bestVal = Math.min(bestVal, valEval);
            entry = entry.withValLoss(valEval);
            listener.onEval(step, trainEval, valEval);
        }
        try {
            Cadence cadence = Cadence.of(spec.settings());
            if (cadence.logs(step)) {
                metrics.append(entry);
            }
            boolean checkpointed = cadence.checkpoints(step);
            if (checkpointed) {
                new CoordinatorState(spec.jobId(), step, ledger.duplicated(), membershipChanges,
                        List.copyOf(recoverySeconds), nonFinite.skipped()).write(spec.outDir());
            }
        } catch (IOException e) {
            return fail("cannot write to " + spec.outDir() + ": " + e.getMessage());
        }
        return nextStepOrFinish();
    }

    /** Records a committed step's samples: as the workers reported them, or as planned when they could not. */
    private void commitSamples(long step, Map<Integer, StepDone> reported) {
        if (reported != null) {
            reported.values().forEach(r -> ledger.record(r.sampleFrom(), r.rows()));
        } else {
            ledger.record((step - 1) * globalBatch, globalBatch);
        }
    }

    /** Compares parameter checksums; a worker that drifted from the majority resyncs at the boundary. */
    private void checkParameters(long step) {
        Map<Long, Integer> votes = new HashMap<>();
        for (StepDone r : reports.values()) {
            if (r.paramChecksum() != 0) {
                votes.merge(r.paramChecksum(), 1, Integer::sum);
            }
        }
        if (votes.size() > 1) {
            getContext().getLog().warn("step {}: worker parameters differ ({} distinct checksums); resyncing the "
                    + "minority from a peer", step, votes.size());
            changePending = true;
        }
    }

    // ---- the end ------------------------------------------------------------------------------

    private Behavior<Command> onFinished(JobFinished f) {
        if (phase != Phase.FINISHING) {
            return this;
        }
        if (f.rank() < 0 || f.rank() >= ringSizeAtFinish) {
            return this; // a reserve worker released at the end, not a ring member
        }
        if (!f.error().isEmpty()) {
            return fail("worker rank " + f.rank() + " could not finish: " + f.error());
        }
        finishedRanks.add(f.rank());
        return finishedRanks.size() < ringSizeAtFinish ? this : writeSummary();
    }

    /**
     * Ring members lost after the last step need not finish, except rank 0, which exports the
     * model: without it the run ends as failed, pointing at its last checkpoint.
     */
    private Behavior<Command> lostWhileFinishing(List<Worker> gone) {
        for (Worker w : gone) {
            int rank = ring.indexOf(w);
            if (rank == 0 && !finishedRanks.contains(0)) {
                return fail("rank 0 was lost while exporting the model after step " + committed + "; the checkpoints "
                        + "are in " + spec.outDir().resolve(CheckpointStore.DIRECTORY) + "; export by resuming with "
                        + "'troupe coordinator --resume " + spec.outDir() + "'");
            }
            if (rank > 0) {
                finishedRanks.add(rank);
            }
        }
        return finishedRanks.size() < ringSizeAtFinish ? this : writeSummary();
    }

    private Behavior<Command> writeSummary() {
        long cursor = committed * globalBatch;
        TrainSummary summary = new TrainSummary(committed, lastTrainEval, lastValEval, bestVal,
                trainedSteps * (double) globalBatch * spec.settings().blockSize() / trainSeconds,
                (System.nanoTime() - startNanos) / 1e9, parameterCount());
        Map<String, Object> extra = new LinkedHashMap<>();
        // Mean per step over workers: forward+backward vs the gradient all-reduce.
        extra.put("compute_ms_per_step", computeMillis / trainedSteps);
        extra.put("allreduce_ms_per_step", allreduceMillis / trainedSteps);
        extra.put("step_ms", 1000 * trainSeconds / trainedSteps);
        extra.put("samples_consumed", ledger.consumed());
        extra.put("samples_duplicated", ledger.duplicated());
        extra.put("samples_lost", ledger.lost(cursor));
        extra.put("membership_changes", membershipChanges);
        extra.put("recovery_seconds", List.copyOf(recoverySeconds));
        extra.put("steps_skipped", nonFinite.skipped());
        try {
            SummaryFile.write(spec.outDir(), summary, spec.settings(), spec.tokenizer().vocabSize(),
                    spec.tokenizer().type(), ringSizeAtFinish, extra, spec.data());
        } catch (IOException e) {
            return fail("cannot write summary.json: " + e.getMessage());
        }
        phase = Phase.DONE;
        onDone.accept(new JobOutcome(summary, null));
        return Behaviors.stopped();
    }

    private Behavior<Command> fail(String reason) {
        if (phase == Phase.DONE) {
            return this;
        }
        getContext().getLog().error("job {} failed: {}", spec.jobId(), reason);
        phase = Phase.DONE;
        FinishJob abort = new FinishJob(spec.jobId(), false);
        workers.values().stream().filter(w -> w.status != Status.GONE).forEach(w -> w.tell(abort));
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
