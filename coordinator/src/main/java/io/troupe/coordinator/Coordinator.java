package io.troupe.coordinator;

import io.troupe.worker.actor.Inbox;
import io.troupe.worker.actor.ServiceKeys;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.job.protocol.FinishJob;
import io.troupe.worker.job.protocol.JobFinished;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.JoinJob;
import io.troupe.worker.job.protocol.LeaveRequest;
import io.troupe.worker.job.protocol.ProbeReply;
import io.troupe.worker.job.protocol.RingReady;
import io.troupe.worker.job.protocol.StepDone;
import io.troupe.worker.job.protocol.StepFailed;
import io.troupe.worker.job.protocol.WorkerHello;
import io.troupe.worker.plane.StateExchange;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.run.TrainSummary;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.pekko.actor.Address;
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
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
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

    /**
     * Where the job stands. Each handler checks it once: a message of another phase (or of an
     * older generation) is late and is ignored.
     */
    private enum Phase { WAITING, PROBING, FORMING, CONNECTING, TRAINING, PAUSED, FINISHING, DONE }

    private final JobSpec spec;
    private final ElasticPolicy policy;
    private final Consumer<JobOutcome> onDone;
    private final TimerScheduler<Command> timers;
    private final ActorRefResolver resolver;
    private final ActorRef<JobMessage> wire;
    private final StateExchange coordinatorState;
    private final Consumer<ActorRef<JobMessage>> announce;
    private final Membership members = new Membership();
    private final JobStart start;
    private final RingFormation formation;
    private final JobProgress progress;
    private JobFinish finish;
    private Phase phase = Phase.WAITING;

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
        this.onDone = onDone;
        this.timers = timers;
        this.coordinatorState = coordinatorState;
        this.resolver = ActorRefResolver.get(ctx.getSystem());
        this.wire = Inbox.spawn(ctx, "wire", JobMessage.class, FromWire::new);
        this.start = new JobStart(spec);
        this.formation = new RingFormation(spec.jobId());
        this.progress = new JobProgress(spec, listener, ctx.getLog());
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

    /** Opens the job (corpus, resumed state), then offers the wire to workers; fails at once when it cannot. */
    Behavior<Command> started() {
        Optional<String> failure = progress.open(coordinatorState);
        if (failure.isPresent()) {
            return fail(failure.get());
        }
        if (announce != null) {
            announce.accept(wire);
        } else {
            getContext().getSystem().receptionist().tell(Receptionist.register(ServiceKeys.COORDINATORS, wire));
        }
        return this;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(FromWire.class, this::onWire)
                .onMessage(StepTimedOut.class, this::onStepTimedOut)
                .onMessage(ProbeTimedOut.class, t -> t.generation() == formation.generation() && phase == Phase.PROBING
                        ? planRing() : this)
                .onMessage(FormTimedOut.class, this::onFormTimedOut)
                .onMessage(NodeLost.class, this::onNodeLost)
                .onSignal(PostStop.class, s -> {
                    progress.close();
                    return this;
                })
                .build();
    }

    private Behavior<Command> onWire(FromWire msg) {
        JobMessage payload = msg.message();
        if (payload instanceof WorkerHello hello) {
            return onHello(hello);
        } else if (payload instanceof JobReady r) {
            return r.generation() < 0 ? onPrepared(r) : onRankBound(r);
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

    // ---- membership ---------------------------------------------------------------------------

    /**
     * True when {@code ref} lives on this node or on an Up (or WeaklyUp) member of the cluster.
     * WeaklyUp counts: while a dead node is still unreachable the cluster cannot move newcomers
     * to Up, and a replacement worker must be able to join then.
     */
    private boolean isClusterMember(ActorRef<?> ref) {
        Address address = ref.path().address();
        if (address.host().isEmpty()) {
            return true;
        }
        for (Member m : Cluster.get(getContext().getSystem()).state().getMembers()) {
            if (m.address().equals(address) && (m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp())) {
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
        if (!isClusterMember(actor)) {
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
        if (phase == Phase.FINISHING || phase == Phase.DONE) {
            return this;
        }
        Membership.Member w = members.admit(resolver.toSerializationFormat(actor), actor.path().address(), actor::tell,
                hello);
        if (w == null) {
            return this;
        }
        getContext().getLog().info("worker {} offered itself ({} threads, {}, data plane on {}); preparing it",
                w.ref, hello.threads(), hello.device(), hello.dataHost());
        w.tell(new JoinJob(wire, spec.jobId(), w.seedRank % spec.workers(), spec.workers(),
                JobSettings.toJson(spec.settings()), spec.tokenizer().toJson(), spec.dataPath().toString(),
                spec.dataSha256(), 0, 0, spec.settings().batchSize(), spec.outDir().toString(), spec.wire(), true));
        return this;
    }

    /** The live member a message of this job names, or null. */
    private Membership.Member known(ActorRef<?> ref, String jobId) {
        return ref == null || !jobId.equals(spec.jobId()) ? null : members.live(resolver.toSerializationFormat(ref));
    }

    private Behavior<Command> onPrepared(JobReady r) {
        Membership.Member w = known(r.worker(), r.jobId());
        if (w == null) {
            return this;
        }
        if (!r.ok()) {
            getContext().getLog().error("worker {} could not prepare job {}: {}", w.ref, spec.jobId(), r.error());
            members.drop(w);
            if (phase == Phase.WAITING && !members.anyLive()) {
                return fail("worker " + w.ref + " could not join the job: " + r.error());
            }
            return this;
        }
        members.prepared(w, new InetSocketAddress(r.stateHost(), r.statePort()));
        long ready = members.readyToStay();
        switch (phase) {
            case WAITING -> {
                if (start.canStart(ready)) {
                    return reform("starting with " + ready + " worker(s)", false);
                }
                getContext().getLog().info("{} of {} worker(s) ready", ready, start.awaited());
            }
            case PAUSED -> {
                if (start.canContinue(ready)) {
                    return reform("enough workers again", false);
                }
            }
            case TRAINING, PROBING, FORMING, CONNECTING -> {
                if (start.hasRoom(formation.ring().size())) {
                    formation.requestReform(); // takes its place at the next step boundary
                }
            }
            default -> {
            }
        }
        return this;
    }

    private Behavior<Command> onLeaveRequest(LeaveRequest l) {
        Membership.Member w = known(l.worker(), spec.jobId());
        if (w == null) {
            return this;
        }
        getContext().getLog().info("worker {} asked to leave", w.ref);
        members.markLeaving(w);
        if (formation.ring().contains(w)) {
            formation.requestReform();
        } else {
            release(w);
        }
        return this;
    }

    /** Lets a worker go: it closes its job and, if it asked to leave, stops. */
    private void release(Membership.Member w) {
        members.drop(w);
        w.tell(new FinishJob(spec.jobId(), false));
    }

    private Behavior<Command> onNodeLost(NodeLost lost) {
        List<Membership.Member> gone = members.lose(lost.address());
        if (gone.isEmpty()) {
            return this;
        }
        getContext().getLog().warn("node {} is {}: lost worker(s) {}", lost.address(), lost.why(), gone);
        if (phase == Phase.FINISHING) {
            if (!finish.lost(gone)) {
                return fail("rank 0 was lost while exporting the model after step " + progress.committed()
                        + "; the checkpoints are in " + spec.outDir().resolve(CheckpointStore.DIRECTORY)
                        + "; export by resuming with 'troupe coordinator --resume " + spec.outDir() + "'");
            }
            return finish.done() ? writeSummary() : this;
        }
        if (gone.stream().noneMatch(formation.ring()::contains)) {
            return this;
        }
        return switch (phase) {
            case TRAINING, FORMING, CONNECTING -> reform("worker on " + lost.address() + " " + lost.why(), true);
            case PROBING -> formation.allProbed(members) ? planRing() : this;
            default -> this;
        };
    }

    // ---- re-forming the ring ------------------------------------------------------------------

    /** Ends the current ring and probes every ready worker; {@link #planRing} follows. */
    private Behavior<Command> reform(String why, boolean failure) {
        progress.ringBroken(failure);
        phase = Phase.PROBING;
        timers.cancel("step");
        timers.cancel("form");
        formation.probe(members);
        getContext().getLog().info("generation {}: re-forming the ring ({})", formation.generation(), why);
        timers.startSingleTimer("probe", new ProbeTimedOut(formation.generation()),
                RingFormation.probeWait(policy, failure, progress.slowestRecentStepSeconds()));
        return afterProbeAnswer();
    }

    private Behavior<Command> onProbeReply(ProbeReply r) {
        Membership.Member w = known(r.worker(), spec.jobId());
        if (w == null || r.generation() != formation.generation() || phase != Phase.PROBING) {
            return this;
        }
        formation.answered(w, r);
        return afterProbeAnswer();
    }

    /**
     * Plans the ring once everyone answered. When only suspects are silent, gives them a short
     * grace (a live worker answers in milliseconds), then forms the ring without them.
     */
    private Behavior<Command> afterProbeAnswer() {
        if (formation.allProbed(members)) {
            return planRing();
        }
        if (formation.onlySuspectsSilent(members) && !timers.isTimerActive("suspects")) {
            timers.startSingleTimer("suspects", new ProbeTimedOut(formation.generation()), SUSPECT_GRACE);
        }
        return this;
    }

    /** Plans and forms the next ring from the workers that answered the probe. */
    private Behavior<Command> planRing() {
        timers.cancel("probe");
        timers.cancel("suspects");
        for (Membership.Member w : formation.silent(members)) {
            getContext().getLog().warn("worker {} did not answer within the probe timeout; leaving it out", w.ref);
            release(w); // if it is alive after all, it closes the job and offers itself again
        }
        members.ready().stream().filter(Membership.Member::leaving).forEach(this::release);
        long committed = progress.committed();
        InetSocketAddress fallback = progress.fallbackStep() >= 0 && coordinatorState != null
                ? coordinatorState.address() : null;
        RingFormation.Next next = formation.plan(members, policy, committed, progress.fallbackStep(), fallback);
        if (next instanceof RingFormation.Pause pause) {
            phase = Phase.PAUSED;
            getContext().getLog().warn("{}", start.pausedBecause(spec.jobId(), committed, pause.available()));
            return this;
        }
        if (next instanceof RingFormation.Lost) {
            return fail("every worker that held the state of step " + committed + " is gone; resume the job from its "
                    + "last checkpoint with 'troupe coordinator --resume " + spec.outDir() + "'");
        }
        RingFormation.Form form = (RingFormation.Form) next;
        if (form.plan().step() == committed + 1) {
            progress.commitInterruptedStep();
        }
        progress.membershipChanged(form.membershipChanges());
        phase = Phase.FORMING;
        getContext().getLog().info("generation {}: ring of {} worker(s) continues after step {}{}",
                formation.generation(), formation.ring().size(), form.plan().step(),
                form.plan().syncFrom().isEmpty() ? "" : " (" + form.plan().syncFrom().size() + " syncing)");
        timers.startSingleTimer("form", new FormTimedOut(formation.generation()), policy.formTimeout());
        return this;
    }

    private Behavior<Command> onRankBound(JobReady r) {
        Membership.Member w = known(r.worker(), r.jobId());
        if (w == null || r.generation() != formation.generation() || phase != Phase.FORMING) {
            return this;
        }
        if (!r.ok()) {
            return formFailed("worker " + w.ref + " could not take rank " + r.rank() + ": " + r.error());
        }
        if (formation.bound(w, r)) {
            phase = Phase.CONNECTING;
        }
        return this;
    }

    private Behavior<Command> onRingReady(RingReady r) {
        if (r.generation() != formation.generation() || phase != Phase.CONNECTING || !r.jobId().equals(spec.jobId())) {
            return this;
        }
        if (!r.ok()) {
            return formFailed("rank " + r.rank() + " could not link the ring: " + r.error());
        }
        if (!formation.linked(r.rank())) {
            return this;
        }
        timers.cancel("form");
        phase = Phase.TRAINING;
        progress.ringFormed();
        return nextStepOrFinish();
    }

    private Behavior<Command> onFormTimedOut(FormTimedOut t) {
        if (t.generation() != formation.generation() || (phase != Phase.FORMING && phase != Phase.CONNECTING)) {
            return this;
        }
        return formFailed("the ring of generation " + formation.generation() + " was not formed within "
                + policy.formTimeout().toSeconds() + " s");
    }

    private Behavior<Command> formFailed(String why) {
        if (formation.formFailedTooOften()) {
            return fail("could not form a ring " + RingFormation.MAX_FAILED_FORMS + " times in a row; the last reason: "
                    + why);
        }
        getContext().getLog().warn("{}; trying again", why);
        return reform(why, true);
    }

    // ---- steps ----------------------------------------------------------------------------------

    private Behavior<Command> nextStepOrFinish() {
        boolean stopped = progress.stopRequested();
        if (progress.lastStepDone() || stopped) {
            // A stop request (a pruned trial) ends the job here without exporting a model.
            phase = Phase.FINISHING;
            List<Membership.Member> ring = formation.ring();
            finish = new JobFinish(ring);
            FinishJob end = new FinishJob(spec.jobId(), !stopped);
            ring.forEach(w -> w.tell(end));
            members.ready().stream().filter(w -> !ring.contains(w)).forEach(this::release);
            return this;
        }
        if (formation.reformRequested()) {
            return reform("membership changed", false);
        }
        progress.startStep(formation.ring(), formation.generation());
        timers.startSingleTimer("step", new StepTimedOut(formation.generation(), progress.committed() + 1),
                spec.stepTimeout());
        return this;
    }

    /** True when {@code generation} and {@code step} name the step now running. */
    private boolean isRunning(long generation, long step) {
        return phase == Phase.TRAINING && generation == formation.generation() && step == progress.committed() + 1;
    }

    private Behavior<Command> onStepFailed(StepFailed f) {
        int suspect = f.suspectRank() != null ? f.suspectRank().orElse(-1) : -1;
        if (formation.suspect(suspect, f.generation()) && phase == Phase.PROBING) {
            // A neighbour's link broke: that worker is probably dead, so the probe need not wait long for it.
            return afterProbeAnswer();
        }
        if (!isRunning(f.generation(), f.step())) {
            return this;
        }
        String failure = "rank " + f.rank() + " failed step " + f.step() + ": " + f.error();
        getContext().getLog().warn("{}", failure);
        return reform(failure, true);
    }

    private Behavior<Command> onStepTimedOut(StepTimedOut t) {
        if (!isRunning(t.generation(), t.step())) {
            return this;
        }
        return reform("rank(s) " + progress.missing(formation.ring().size()) + " did not finish step " + t.step()
                + " within " + spec.stepTimeout().toSeconds() + " s", true);
    }

    private Behavior<Command> onStepDone(StepDone d) {
        if (!isRunning(d.generation(), d.step()) || !progress.report(d, formation.ring().size())) {
            return this;
        }
        timers.cancel("step");
        Optional<String> failure = progress.commitStep(formation.ring().size());
        if (failure.isPresent()) {
            return fail(failure.get());
        }
        if (progress.parametersDiffer()) {
            formation.requestReform(); // the drifted worker resyncs at this step boundary
        }
        return nextStepOrFinish();
    }

    // ---- the end ------------------------------------------------------------------------------

    private Behavior<Command> onFinished(JobFinished f) {
        if (phase != Phase.FINISHING || !finish.ofRing(f.rank())) {
            return this; // not finishing, or a reserve worker released at the end
        }
        if (!f.error().isEmpty()) {
            return fail("worker rank " + f.rank() + " could not finish: " + f.error());
        }
        return finish.finished(f.rank()) ? writeSummary() : this;
    }

    private Behavior<Command> writeSummary() {
        TrainSummary summary;
        try {
            summary = progress.writeSummary(finish.ringSize());
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
        members.live().forEach(w -> w.tell(abort));
        onDone.accept(new JobOutcome(null, reason));
        return Behaviors.stopped();
    }
}
