package io.troupe.coordinator;

import io.troupe.coordinator.Membership.Member;
import io.troupe.worker.actor.Inbox;
import io.troupe.worker.actor.ServiceKeys;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.job.protocol.FinishJob;
import io.troupe.worker.job.protocol.JobFinished;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.LeaveRequest;
import io.troupe.worker.job.protocol.StepDone;
import io.troupe.worker.job.protocol.StepFailed;
import io.troupe.worker.job.protocol.ProbeReply;
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
import java.util.function.LongFunction;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.japi.function.Predicate;

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
 *
 * <p>The actor routes: {@link Membership} knows who is there, {@link JobStart} when the job may
 * start or go on, {@link RingFormation} forms each ring generation, {@link JobProgress} tracks
 * and reports the steps and {@link JobFinish} the end. Each phase is its own behaviour (waiting,
 * probing, forming, connecting, training, paused, finishing); a message that does not belong
 * to the current phase is late and is dropped.
 */
public final class Coordinator {

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

    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    private final JobSpec spec;
    private final Consumer<JobOutcome> onDone;
    private final ActorRefResolver resolver;
    private final ActorRef<JobMessage> wire;
    private final StateExchange coordinatorState;
    private final Membership members = new Membership();
    private final JobStart start;
    private final RingFormation formation;
    private final JobProgress progress;
    private final RingPhases ringPhases;
    private final StepDeadline deadline;
    private Duration stepDeadline;
    private long stepStartedNanos;
    private boolean routineStep;

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
                new Coordinator(ctx, timers, spec, coordinatorState, listener, onDone).started(announce)));
    }

    private Coordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, JobSpec spec,
                        StateExchange coordinatorState, TrainListener listener, Consumer<JobOutcome> onDone) {
        this.ctx = ctx;
        this.timers = timers;
        this.spec = spec;
        this.onDone = onDone;
        this.coordinatorState = coordinatorState;
        this.resolver = ActorRefResolver.get(ctx.getSystem());
        this.wire = Inbox.spawn(ctx, "wire", JobMessage.class, FromWire::new);
        this.start = new JobStart(spec, ClusterNode.dataPlaneSettings().admissionKey());
        this.formation = new RingFormation(spec.jobId());
        this.progress = new JobProgress(spec, listener, ctx.getLog());
        this.deadline = StepDeadline.from(ctx.getSystem().settings().config(), spec.stepTimeout());
        this.ringPhases = new RingPhases(this, ctx.getLog(), timers, spec, members, start, formation, progress,
                coordinatorState);
        Cluster cluster = Cluster.get(ctx.getSystem());
        cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.UnreachableMember.class,
                e -> new NodeLost(e.member().address(), "unreachable")), ClusterEvent.UnreachableMember.class));
        cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberRemoved.class,
                e -> new NodeLost(e.member().address(), "removed from the cluster")), ClusterEvent.MemberRemoved.class));
        ctx.getLog().info("job {} waits for {} worker(s) (min {}, max {})", spec.jobId(), spec.workers(),
                spec.elastic().minWorkers(), spec.elastic().maxWorkers());
    }

    /** Opens the job (corpus, resumed state), then offers the wire to workers; fails at once when it cannot. */
    private Behavior<Command> started(Consumer<ActorRef<JobMessage>> announce) {
        Optional<String> failure = progress.open(coordinatorState);
        if (failure.isPresent()) {
            return fail(failure.get());
        }
        if (announce != null) {
            announce.accept(wire);
        } else {
            ctx.getSystem().receptionist().tell(Receptionist.register(ServiceKeys.COORDINATORS, wire));
        }
        return waiting();
    }

    // ---- the phases -----------------------------------------------------------------------------

    /** Before the first ring: waits for the workers the job asked for. */
    private Behavior<Command> waiting() {
        return shared(Behaviors.receive(Command.class), ready -> {
            if (start.canStart(ready)) {
                return ringPhases.reform("starting with " + ready + " worker(s)", false);
            }
            ctx.getLog().info("{} of {} worker(s) ready", ready, start.awaited());
            return Behaviors.same();
        }).onMessage(NodeLost.class, lost -> onNodeLost(lost, Behaviors::same))
                .onAnyMessage(late -> Behaviors.same()).build();
    }

    /** Too few workers: waits until min-workers are ready again. */
    Behavior<Command> paused() {
        return shared(Behaviors.receive(Command.class),
                ready -> start.canContinue(ready) ? ringPhases.reform("enough workers again", false) : Behaviors.same())
                .onMessage(NodeLost.class, lost -> onNodeLost(lost, Behaviors::same))
                .onAnyMessage(late -> Behaviors.same()).build();
    }

    /** Runs step {@code committed + 1} on the ring. */
    private Behavior<Command> training() {
        long generation = formation.generation();
        long step = progress.committed() + 1;
        BehaviorBuilder<Command> b = Behaviors.receive(Command.class);
        b = onWire(b, StepDone.class, d -> d.generation() == generation && d.step() == step, this::onStepDone);
        b = onWire(b, StepFailed.class, f -> f.generation() == generation && f.step() == step, this::onStepFailed);
        return running(b).onMessage(StepTimedOut.class, t -> t.generation() == generation && t.step() == step,
                        this::onStepTimedOut)
                .onMessage(NodeLost.class, lost -> onNodeLost(lost,
                        () -> ringPhases.reform("worker on " + lost.address() + " " + lost.why(), true)))
                .onAnyMessage(late -> Behaviors.same()).build();
    }

    /** The last step is done: waits for the ring to close the job (rank 0 exports the model). */
    private Behavior<Command> finishing(JobFinish finish) {
        BehaviorBuilder<Command> b = onWire(Behaviors.receive(Command.class), JobFinished.class,
                f -> finish.ofRing(f.rank()), f -> onFinished(finish, f));
        b = onWire(b, WorkerHello.class, h -> true, h -> onHello(h, false)); // refused or ignored: the job ends
        return shared(b, ready -> Behaviors.same()).onMessage(NodeLost.class, lost -> {
            List<Member> gone = lostWorkers(lost);
            if (!finish.lost(gone)) {
                return fail("rank 0 was lost while exporting the model after step " + progress.committed()
                        + "; the checkpoints are in " + spec.outDir().resolve(CheckpointStore.DIRECTORY)
                        + "; export by resuming with 'troupe coordinator --resume " + spec.outDir() + "'");
            }
            return !gone.isEmpty() && finish.done() ? writeSummary(finish) : Behaviors.same();
        }).onAnyMessage(late -> Behaviors.same()).build();
    }

    /**
     * A phase with a ring in the making or at work: a newly ready worker joins at the next step
     * boundary, and so does a reserve worker that answered a probe too late to be planned in,
     * when the ring has room. (A probing phase handles its own generation's replies first.)
     */
    BehaviorBuilder<Command> running(BehaviorBuilder<Command> phase) {
        BehaviorBuilder<Command> b = onWire(phase, ProbeReply.class, r -> true, this::onLateProbeReply);
        return shared(b, ready -> {
            if (start.hasRoom(formation.ring().size())) {
                formation.requestReform();
            }
            return Behaviors.same();
        });
    }

    private Behavior<Command> onLateProbeReply(ProbeReply r) {
        Member w = known(r.worker(), r.jobId());
        if (w != null && formation.answeredLate(w) && start.hasRoom(formation.ring().size())) {
            ctx.getLog().info("reserve worker {} answered late; it joins the ring at the next step boundary", w.ref);
            formation.requestReform();
        }
        return Behaviors.same();
    }

    /**
     * What every phase handles alike: workers offer themselves, get ready (what that means is
     * the phase's {@code onReady}, given how many ready workers stay) and ask to leave; a
     * neighbour's report of a broken link marks a suspect.
     */
    private BehaviorBuilder<Command> shared(BehaviorBuilder<Command> phase, LongFunction<Behavior<Command>> onReady) {
        BehaviorBuilder<Command> b = onWire(phase, WorkerHello.class, h -> true, h -> onHello(h, true));
        b = onWire(b, JobReady.class, r -> r.generation() < 0, r -> onPrepared(r, onReady));
        b = onWire(b, LeaveRequest.class, l -> true, this::onLeaveRequest);
        b = onWire(b, StepFailed.class, f -> true, f -> {
            formation.suspect(suspectRank(f), f.generation());
            return Behaviors.same();
        });
        return b.onSignal(PostStop.class, s -> {
            progress.close("the coordinator stopped");
            return Behaviors.same();
        });
    }

    /** Handles the wire messages of one type that pass {@code test}. */
    static <M extends JobMessage> BehaviorBuilder<Command> onWire(BehaviorBuilder<Command> b, Class<M> type,
            Predicate<M> test, Function<M, Behavior<Command>> handler) {
        return b.onMessage(FromWire.class, w -> type.isInstance(w.message()) && test.test(type.cast(w.message())),
                w -> handler.apply(type.cast(w.message())));
    }

    static int suspectRank(StepFailed f) {
        return f.suspectRank() != null ? f.suspectRank().orElse(-1) : -1;
    }

    // ---- membership ---------------------------------------------------------------------------

    /**
     * A worker offers itself; it is prepared for the job when {@code admit} and it is new, on a
     * live node and of this coordinator's version.
     */
    private Behavior<Command> onHello(WorkerHello hello, boolean admit) {
        ActorRef<JobMessage> actor = hello.worker();
        if (actor == null) {
            ctx.getLog().warn("ignoring a hello that names no worker");
            return Behaviors.same();
        }
        if (!Membership.onLiveNode(actor.path().address(), Cluster.get(ctx.getSystem()).state().getMembers())) {
            ctx.getLog().warn("ignoring a hello from {}, which is not an Up member of the cluster", actor);
            return Behaviors.same();
        }
        Optional<String> refusal = start.refusal(hello);
        if (refusal.isPresent()) {
            actor.tell(new JobFinished("", 0, refusal.get()));
            ctx.getLog().warn("refused a worker of version {} at {}", hello.troupeVersion(), actor);
            return Behaviors.same();
        }
        Member w = admit ? members.admit(resolver.toSerializationFormat(actor), actor.path().address(), actor::tell,
                hello) : null;
        if (w != null) {
            ctx.getLog().info("worker {} offered itself{} ({} threads, {}, data plane on {}); preparing it", w.ref,
                    hello.standby() ? " as a standby" : "", hello.threads(), hello.device(), hello.dataHost());
            progress.events().joined(w);
            w.tell(start.invitation(wire, w.seedRank));
        }
        return Behaviors.same();
    }

    /** The live member a message of this job names, or null. */
    Member known(ActorRef<?> ref, String jobId) {
        return ref == null || !jobId.equals(spec.jobId()) ? null : members.live(resolver.toSerializationFormat(ref));
    }

    private Behavior<Command> onPrepared(JobReady r, LongFunction<Behavior<Command>> onReady) {
        Member w = known(r.worker(), r.jobId());
        if (w == null) {
            return Behaviors.same();
        }
        if (!r.ok()) {
            ctx.getLog().error("worker {} could not prepare job {}: {}", w.ref, spec.jobId(), r.error());
            members.drop(w);
            if (formation.generation() == 0 && !members.anyLive()) {
                return fail("worker " + w.ref + " could not join the job: " + r.error());
            }
            return Behaviors.same();
        }
        members.prepared(w, new InetSocketAddress(r.stateHost(), r.statePort()));
        return onReady.apply(members.readyToStay());
    }

    private Behavior<Command> onLeaveRequest(LeaveRequest l) {
        Member w = known(l.worker(), spec.jobId());
        if (w != null) {
            ctx.getLog().info("worker {} asked to leave", w.ref);
            progress.events().left(w);
            members.markLeaving(w);
            if (formation.ring().contains(w)) {
                formation.requestReform();
            } else {
                release(w);
            }
        }
        return Behaviors.same();
    }

    /** Lets a worker go: it closes its job and, if it asked to leave, stops. */
    void release(Member w) {
        members.drop(w);
        w.tell(new FinishJob(spec.jobId(), false));
    }

    /** The workers of a lost node are gone; when one was in the ring, {@code ifRingHit} decides what follows. */
    Behavior<Command> onNodeLost(NodeLost lost, Supplier<Behavior<Command>> ifRingHit) {
        return lostWorkers(lost).stream().anyMatch(formation.ring()::contains) ? ifRingHit.get() : Behaviors.same();
    }

    private List<Member> lostWorkers(NodeLost lost) {
        List<Member> gone = members.lose(lost.address());
        if (!gone.isEmpty()) {
            ctx.getLog().warn("node {} is {}: lost worker(s) {}", lost.address(), lost.why(), gone);
            gone.forEach(w -> progress.events().failed(w, "node " + lost.address() + " is " + lost.why()));
        }
        return gone;
    }

    // ---- steps ----------------------------------------------------------------------------------

    Behavior<Command> nextStepOrFinish() {
        boolean stopped = progress.stopRequested();
        if (progress.lastStepDone() || stopped) {
            // A stop request (a pruned trial) ends the job here without exporting a model.
            List<Member> ring = formation.ring();
            FinishJob end = new FinishJob(spec.jobId(), !stopped);
            ring.forEach(w -> w.tell(end));
            members.ready().stream().filter(w -> !ring.contains(w)).forEach(this::release);
            return finishing(new JobFinish(ring));
        }
        if (formation.reformRequested() && progress.atOuterStep()) { // DiLoCo: joins and leaves wait for an outer step
            return ringPhases.reform("membership changed", false);
        }
        progress.startStep(formation.ring(), formation.generation());
        long step = progress.committed() + 1;
        routineStep = progress.routine(step);
        stepDeadline = deadline.next(routineStep);
        stepStartedNanos = System.nanoTime();
        timers.startSingleTimer("step", new StepTimedOut(formation.generation(), step), stepDeadline);
        return training();
    }

    private Behavior<Command> onStepFailed(StepFailed f) {
        formation.suspect(suspectRank(f), f.generation());
        String failure = "rank " + f.rank() + " failed step " + f.step() + ": " + f.error();
        ctx.getLog().warn("{}", failure);
        return ringPhases.reform(failure, true, List.of(f.rank()));
    }

    private Behavior<Command> onStepTimedOut(StepTimedOut t) {
        List<Integer> missing = progress.missing(formation.ring().size());
        return ringPhases.reform("rank(s) " + missing + " did not finish step "
                + t.step() + " within " + deadline.explain(stepDeadline), true, missing);
    }

    private Behavior<Command> onStepDone(StepDone d) {
        if (!progress.report(d, formation.ring().size())) {
            return Behaviors.same();
        }
        timers.cancel("step");
        if (routineStep) {
            deadline.record(Duration.ofNanos(System.nanoTime() - stepStartedNanos));
        }
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

    private Behavior<Command> onFinished(JobFinish finish, JobFinished f) {
        if (!f.error().isEmpty()) {
            return fail("worker rank " + f.rank() + " could not finish: " + f.error());
        }
        return finish.finished(f.rank()) ? writeSummary(finish) : Behaviors.same();
    }

    private Behavior<Command> writeSummary(JobFinish finish) {
        TrainSummary summary;
        try {
            summary = progress.writeSummary(finish.ringSize());
        } catch (IOException e) {
            return fail("cannot write summary.json: " + e.getMessage());
        }
        progress.close(null);
        onDone.accept(new JobOutcome(summary, null));
        return Behaviors.stopped();
    }

    Behavior<Command> fail(String reason) {
        ctx.getLog().error("job {} failed: {}", spec.jobId(), reason);
        FinishJob abort = new FinishJob(spec.jobId(), false);
        members.live().forEach(w -> w.tell(abort));
        progress.close(reason);
        onDone.accept(new JobOutcome(null, reason));
        return Behaviors.stopped();
    }
}
