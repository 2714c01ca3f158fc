package io.troupe.coordinator;

import static io.troupe.coordinator.Coordinator.onWire;
import static io.troupe.coordinator.Coordinator.suspectRank;

import io.troupe.coordinator.Coordinator.Command;
import io.troupe.coordinator.Coordinator.FormTimedOut;
import io.troupe.coordinator.Coordinator.NodeLost;
import io.troupe.coordinator.Coordinator.ProbeTimedOut;
import io.troupe.coordinator.Membership.Member;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.ProbeReply;
import io.troupe.worker.job.protocol.RingReady;
import io.troupe.worker.job.protocol.StepFailed;
import io.troupe.worker.plane.StateExchange;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;

/**
 * The {@link Coordinator}'s phases while a ring forms: probing (every ready worker reports its
 * step and checksum), forming (each planned rank binds its ring server, syncing state first if
 * it must) and connecting (each rank links to its successor). They are the same actor's
 * behaviours, kept apart from the steps so that each file reads as one job; the decisions are
 * {@link RingFormation}'s, the sends and timers are made here.
 */
final class RingPhases {
    /** How long a probe still waits for a worker whose neighbour saw its link break. */
    private static final Duration SUSPECT_GRACE = Duration.ofMillis(200);
    /** How often a probe waiting for a silent holder of the committed state plans again. */
    private static final Duration HOLDER_RECHECK = Duration.ofSeconds(1);

    private final Coordinator coordinator;
    private final Logger log;
    private final TimerScheduler<Command> timers;
    private final JobSpec spec;
    private final Membership members;
    private final JobStart start;
    private final RingFormation formation;
    private final JobProgress progress;
    private final StateExchange coordinatorState;
    /** The generation whose probe is waiting for a silent state holder, and since when. */
    private long holderWaitGeneration = -1;
    private long holderWaitStartNanos;

    RingPhases(Coordinator coordinator, Logger log, TimerScheduler<Command> timers, JobSpec spec, Membership members,
               JobStart start, RingFormation formation, JobProgress progress, StateExchange coordinatorState) {
        this.coordinator = coordinator;
        this.log = log;
        this.timers = timers;
        this.spec = spec;
        this.members = members;
        this.start = start;
        this.formation = formation;
        this.progress = progress;
        this.coordinatorState = coordinatorState;
    }

    /** Waits for every ready worker's step and checksum; {@link #planRing} follows. */
    private Behavior<Command> probing() {
        long generation = formation.generation();
        BehaviorBuilder<Command> b = Behaviors.receive(Command.class);
        b = onWire(b, ProbeReply.class, r -> r.generation() == generation, this::onProbeReply);
        // A neighbour's link broke: that worker is probably dead, so the probe need not wait long for it.
        b = onWire(b, StepFailed.class, f -> true, f -> formation.suspect(suspectRank(f), f.generation())
                ? afterProbeAnswer(Behaviors::same) : Behaviors.same());
        return coordinator.running(b)
                .onMessage(ProbeTimedOut.class, t -> t.generation() == generation, t -> planRing())
                .onMessage(NodeLost.class, lost -> coordinator.onNodeLost(lost,
                        () -> formation.allProbed(members) ? planRing() : Behaviors.same()))
                .onAnyMessage(late -> Behaviors.same()).build();
    }

    /** Waits until every rank bound its ring server. */
    private Behavior<Command> forming() {
        long generation = formation.generation();
        BehaviorBuilder<Command> b = onWire(Behaviors.receive(Command.class), JobReady.class,
                r -> r.generation() == generation, this::onRankBound);
        return broken(coordinator.running(b), generation).onAnyMessage(late -> Behaviors.same()).build();
    }

    /** Waits until every rank linked to its successor. */
    private Behavior<Command> connecting() {
        long generation = formation.generation();
        BehaviorBuilder<Command> b = onWire(Behaviors.receive(Command.class), RingReady.class,
                r -> r.generation() == generation && r.jobId().equals(spec.jobId()), this::onRingReady);
        return broken(coordinator.running(b), generation).onAnyMessage(late -> Behaviors.same()).build();
    }

    /** While a ring forms: it fails when it takes too long, or when a member is lost. */
    private BehaviorBuilder<Command> broken(BehaviorBuilder<Command> phase, long generation) {
        return phase.onMessage(FormTimedOut.class, t -> t.generation() == generation,
                        t -> formFailed("the ring of generation " + generation + " was not formed within "
                                + spec.elastic().formTimeout().toSeconds() + " s"))
                .onMessage(NodeLost.class, lost -> coordinator.onNodeLost(lost,
                        () -> reform("worker on " + lost.address() + " " + lost.why(), true)));
    }

    /** Ends the current ring and probes every ready worker; {@link #planRing} follows. */
    Behavior<Command> reform(String why, boolean failure) {
        return reform(why, failure, List.of());
    }

    /** As {@link #reform(String, boolean)}, for a failure blamed on {@code ranks} of the ring (logged in events.jsonl). */
    Behavior<Command> reform(String why, boolean failure, List<Integer> ranks) {
        progress.ringBroken(failure);
        if (failure && progress.events() != null) {
            progress.events().failed(null, why, ranks);
        }
        timers.cancel("step");
        timers.cancel("form");
        formation.probe(members);
        if (coordinatorState != null) {
            coordinatorState.admit(formation.stateToken()); // the resumed checkpoint, to this generation only
        }
        log.info("generation {}: re-forming the ring ({})", formation.generation(), why);
        timers.startSingleTimer("probe", new ProbeTimedOut(formation.generation()),
                RingFormation.probeWait(spec.elastic(), failure, progress.slowestRecentStepSeconds()));
        return afterProbeAnswer(this::probing);
    }

    private Behavior<Command> onProbeReply(ProbeReply r) {
        Member w = coordinator.known(r.worker(), spec.jobId());
        if (w == null) {
            return Behaviors.same();
        }
        formation.answered(w, r);
        return afterProbeAnswer(Behaviors::same);
    }

    /**
     * Plans the ring once everyone answered, else keeps probing ({@code probing}). When only
     * suspects are silent, gives them a short grace (a live worker answers in milliseconds),
     * then forms the ring without them.
     */
    private Behavior<Command> afterProbeAnswer(Supplier<Behavior<Command>> probing) {
        if (formation.allProbed(members)) {
            return planRing();
        }
        if (formation.onlySuspectsSilent(members) && !timers.isTimerActive("suspects")) {
            timers.startSingleTimer("suspects", new ProbeTimedOut(formation.generation()), SUSPECT_GRACE);
        }
        return probing.get();
    }

    /** Plans and forms the next ring from the workers that answered the probe. */
    private Behavior<Command> planRing() {
        timers.cancel("probe");
        timers.cancel("suspects");
        if (!formation.allProbed(members) && waitingForSilentHolder()) {
            return probing();
        }
        RingFormation.Silence silence = formation.silence(members);
        for (Member w : silence.kept()) {
            // A prepared reserve that is merely slow (a loaded machine) keeps its preparation; if
            // it answers late and the ring has room, it joins at the next step boundary.
            log.warn("reserve worker {} did not answer the probe of generation {} in time; the ring forms without "
                    + "it and it stays in reserve", w.ref, formation.generation());
        }
        for (Member w : silence.release()) {
            log.warn("worker {} did not answer within the probe timeout; leaving it out", w.ref);
            if (progress.events() != null) {
                // Often the first sign of a dead worker (its node is reported lost later, when it is
                // no longer a member): events.jsonl, the fault history and the dashboard must name it.
                progress.events().failed(w, "did not answer the probe of generation " + formation.generation()
                        + "; left out of the ring");
            }
            coordinator.release(w); // if it is alive after all, it closes the job and offers itself again
        }
        members.ready().stream().filter(Member::leaving).forEach(coordinator::release);
        long committed = progress.ringBase();
        InetSocketAddress fallback = progress.fallbackStep() >= 0 && coordinatorState != null
                ? coordinatorState.address() : null;
        RingFormation.Next next = formation.plan(members, spec.elastic(), committed, progress.fallbackStep(), fallback);
        if (next instanceof RingFormation.Pause pause) {
            log.warn("{}", start.pausedBecause(spec.jobId(), committed, pause.available()));
            return coordinator.paused();
        }
        if (next instanceof RingFormation.Lost) {
            return coordinator.fail("every worker that held the state of step " + committed + " is gone; resume "
                    + "the job from its last checkpoint with 'troupe coordinator --resume " + spec.outDir() + "'");
        }
        RingFormation.Form form = (RingFormation.Form) next;
        progress.continueFrom(form.plan().step());
        progress.membershipChanged(form.membershipChanges());
        log.info("generation {}: ring of {} worker(s) continues after step {}{}", formation.generation(),
                formation.ring().size(), form.plan().step(),
                form.plan().syncFrom().isEmpty() ? "" : " (" + form.plan().syncFrom().size() + " syncing)");
        timers.startSingleTimer("form", new FormTimedOut(formation.generation()), spec.elastic().formTimeout());
        return forming();
    }

    /**
     * Keeps probing, up to the form timeout, when the only members that may hold the committed
     * state are silent (issue 16: a pause is not a death). Leaving them out would fail the job;
     * if they are dead, the failure detector removes them and the plan then says so.
     */
    private boolean waitingForSilentHolder() {
        long committed = progress.ringBase();
        boolean served = coordinatorState != null && progress.fallbackStep() >= committed;
        if (!formation.silentMemberMayHoldCommittedState(members, committed, served)) {
            return false;
        }
        long now = System.nanoTime();
        if (holderWaitGeneration != formation.generation()) {
            holderWaitGeneration = formation.generation();
            holderWaitStartNanos = now;
        }
        Duration waited = Duration.ofNanos(now - holderWaitStartNanos);
        Duration cap = spec.elastic().formTimeout();
        if (waited.compareTo(cap) >= 0) {
            return false;
        }
        log.warn("generation {}: no worker that answered holds the state of step {}; waiting for the silent "
                + "member(s) of the last ring ({} s of at most {} s)", formation.generation(), committed,
                waited.toSeconds(), cap.toSeconds());
        timers.startSingleTimer("probe", new ProbeTimedOut(formation.generation()), HOLDER_RECHECK);
        return true;
    }

    private Behavior<Command> onRankBound(JobReady r) {
        Member w = coordinator.known(r.worker(), r.jobId());
        if (w == null) {
            return Behaviors.same();
        }
        if (!r.ok()) {
            return formFailed("worker " + w.ref + " could not take rank " + r.rank() + ": " + r.error());
        }
        return formation.bound(w, r) ? connecting() : Behaviors.same();
    }

    private Behavior<Command> onRingReady(RingReady r) {
        if (!r.ok()) {
            return formFailed("rank " + r.rank() + " could not link the ring: " + r.error());
        }
        if (!formation.linked(r.rank())) {
            return Behaviors.same();
        }
        timers.cancel("form");
        progress.events().ringFormed(formation.generation(), progress.committed(), formation.ring());
        progress.ringFormed(formation.ring().size());
        return coordinator.nextStepOrFinish();
    }

    private Behavior<Command> formFailed(String why) {
        if (formation.formFailedTooOften()) {
            return coordinator.fail("could not form a ring " + RingFormation.MAX_FAILED_FORMS
                    + " times in a row; the last reason: " + why);
        }
        log.warn("{}; trying again", why);
        return reform(why, true);
    }
}
