package io.troupe.worker.actor;

import static io.troupe.errors.Failures.rootMessage;

import io.troupe.errors.Failures;
import io.troupe.errors.TroupeException;
import io.troupe.worker.job.protocol.ConnectRing;
import io.troupe.worker.job.protocol.FinishJob;
import io.troupe.worker.job.protocol.FormRing;
import io.troupe.worker.job.protocol.JobFinished;
import io.troupe.worker.job.protocol.JobMessage;
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
import io.troupe.worker.plane.DataPlane;
import io.troupe.worker.session.SessionException;
import io.troupe.worker.session.WorkerSession;
import io.troupe.worker.session.WorkerSettings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * A training worker: one per GPU or CPU node. It offers itself to the coordinator, prepares
 * the job it is given, and then follows the coordinator through ring generations: a
 * {@link Probe} ends the current ring and asks for this worker's step, a {@link FormRing} gives
 * it a rank in a new ring (after fetching a peer's state when it is behind), and
 * {@link RunStep}s run its exact share of each global batch.
 *
 * <p>Actors route; sessions work. All blocking work (data, ORT sessions, the all-reduce, state
 * transfer, checkpoints, export) is a {@link WorkerSession} task on the blocking dispatcher;
 * this actor decides and sends. Its states, one method each (drawn in docs/ARCHITECTURE.md):
 * idle (offering itself), preparing, ready (between rings), in ring, busy (a session task runs)
 * and finishing. Job messages that arrive while the job is prepared or a task runs wait in a
 * stash.
 *
 * A step that fails for a reason other than the ring (an engine error) makes the actor throw:
 * its supervisor restarts it with backoff, the session is closed first (its engines after the
 * running task, never under it), and the fresh actor offers itself to the job again.
 */
public final class WorkerActor {
    /** Dispatcher for ORT calls and the all-reduce (see reference.conf). */
    public static final String BLOCKING_DISPATCHER = "troupe.worker.blocking-dispatcher";
    /** Messages that may wait for a task: a probe or finish per generation at most, in practice. */
    private static final int STASH_CAPACITY = 1000;
    /** The MDC key of a worker's rank and host in its log lines. */
    public static final String LOG_CONTEXT = "worker";

    /** The worker's protocol. */
    public sealed interface Command permits FromWire, CoordinatorsChanged, Prepared, Worked, Leave, HelloAgain {
    }

    /**
     * Say hello again: the coordinator ignores a hello from a node it does not yet see as Up
     * (cluster membership spreads by gossip), so a worker repeats it until it gets a job.
     */
    enum HelloAgain implements Command { INSTANCE }

    /** A job message from the coordinator. */
    record FromWire(JobMessage message) implements Command {
    }

    /** The receptionist's list of coordinators changed. */
    record CoordinatorsChanged(Receptionist.Listing listing) implements Command {
    }

    /** The session for {@code join} is open, or could not be. */
    record Prepared(JoinJob join, WorkerSession session, Throwable failure) implements Command {
    }

    /** A task of {@code session} ended, with its result or failure. */
    record Worked(WorkerSession session, Object result, Throwable failure) implements Command {
    }

    /**
     * Leave the job gracefully (SIGTERM): the coordinator takes this worker out of the ring at
     * the next step boundary; {@code done} is answered once it has.
     */
    public record Leave(ActorRef<Done> done) implements Command {
    }

    /**
     * Published on the actor system's event stream when the coordinator refuses this worker at
     * the door (another Troupe version, other data-plane settings): the refusal is final, so the
     * node that runs the worker stops with {@code reason} instead of waiting for a job that will
     * never come.
     */
    public record Refused(String reason) {
    }

    /** Where this worker stands in its job: its session and the ring generation and rank it holds (-1: none). */
    private record Place(WorkerSession session, long generation, int rank) {
        JoinJob join() {
            return session.join();
        }

        boolean inRing() {
            return rank >= 0;
        }

        boolean holds(String jobId) {
            return join().jobId().equals(jobId);
        }
    }

    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    private final StashBuffer<Command> stash;
    private final WorkerSettings settings;
    private final DataPlane dataPlane;
    private final ActorRef<JobMessage> wire;
    private final Executor blocking;
    private ActorRef<JobMessage> coordinator;
    /** The ring rank this worker holds, -1 for none; read by {@link #logContext}. */
    private int rank = -1;
    /** Who asked this worker to leave, answered once it has; null while it stays. */
    private ActorRef<Done> leaving;

    public static Behavior<Command> create(WorkerSettings settings, DataPlane dataPlane) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> Behaviors.withStash(STASH_CAPACITY, stash -> {
            WorkerActor actor = new WorkerActor(ctx, timers, stash, settings, dataPlane);
            // Every log line of this worker says which one it is (the log pattern shows MDC "worker").
            return Behaviors.withMdc(Command.class, message -> actor.logContext(), actor.idle());
        })));
    }

    /** MDC of this worker's log lines: {@code worker} = "rank R@HOST" ("rank -" outside a ring). */
    private Map<String, String> logContext() {
        return Map.of(LOG_CONTEXT, "rank " + (rank < 0 ? "-" : Integer.toString(rank)) + "@" + dataPlane.host());
    }

    private WorkerActor(ActorContext<Command> ctx, TimerScheduler<Command> timers, StashBuffer<Command> stash,
                        WorkerSettings settings, DataPlane dataPlane) {
        this.ctx = ctx;
        this.timers = timers;
        this.stash = stash;
        this.settings = settings;
        this.dataPlane = dataPlane;
        this.wire = Inbox.spawn(ctx, "wire", JobMessage.class, FromWire::new);
        this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(BLOCKING_DISPATCHER));
        ctx.getSystem().receptionist().tell(Receptionist.register(ServiceKeys.WORKERS, wire));
        ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, CoordinatorsChanged::new);
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(ServiceKeys.COORDINATORS, listings));
    }

    // ---- states ---------------------------------------------------------------------------------

    /** No job: offers itself to the coordinator until it is given one. */
    private Behavior<Command> idle() {
        rank = -1;
        return state(null, () -> { }, Behaviors.receive(Command.class)
                .onMessage(FromWire.class, w -> w.message() instanceof JoinJob j ? prepare(j) : other(null, w)));
    }

    /** Loading the data and building the engines: job messages wait until the job is ready. */
    private Behavior<Command> prepare(JoinJob join) {
        CompletionStage<WorkerSession> opening = WorkerSession.open(join, settings, dataPlane, blocking);
        ctx.pipeToSelf(opening, (session, failure) -> new Prepared(join, session, failure));
        // Dropped before it is built (coordinator lost, restart): the session is closed once it is.
        Runnable release = () -> opening.thenAccept(WorkerSession::close);
        return state(join, release, Behaviors.receive(Command.class)
                .onMessage(Prepared.class, p -> p.join() == join, this::onPrepared)
                .onMessage(FromWire.class, w -> waitFor(join, w)));
    }

    /** Prepared, between rings: it can be probed, given a rank, or let go. */
    private Behavior<Command> ready(Place place) {
        return state(place.join(), place.session()::close, Behaviors.receive(Command.class)
                .onMessage(FromWire.class, w -> {
                    if (w.message() instanceof FormRing f && place.holds(f.jobId())
                            && f.generation() == place.generation()) {
                        return busy(place.session(), place.session().joinRing(f),
                                (address, failure) -> onRingJoined(place, f, address, failure));
                    }
                    return member(place, w);
                }));
    }

    /** Holds a rank in the current ring: it links to its successor and runs steps. */
    private Behavior<Command> inRing(Place place) {
        WorkerSession session = place.session();
        return state(place.join(), session::close, Behaviors.receive(Command.class)
                .onMessage(FromWire.class, w -> {
                    if (w.message() instanceof ConnectRing c && place.holds(c.jobId())
                            && c.generation() == place.generation()) {
                        InetSocketAddress successor = new InetSocketAddress(c.successorHost(), c.successorPort());
                        return busy(session, session.connect(successor), (ignored, failure) -> {
                            String error = failure != null ? rootMessage(failure) : "";
                            tell(place.join(), new RingReady(c.jobId(), place.rank(), error.isEmpty(), error,
                                    place.generation()));
                            return resume(place);
                        });
                    }
                    if (w.message() instanceof RunStep r && place.holds(r.jobId())
                            && r.generation() == place.generation()) {
                        return runStep(place, r);
                    }
                    return member(place, w);
                }));
    }

    /**
     * A task of {@code session} runs: job messages wait in the stash (so native sessions are
     * never closed under a running step), and {@code then} decides on its outcome.
     */
    private <T> Behavior<Command> busy(WorkerSession session, CompletionStage<T> task,
                                       BiFunction<T, Throwable, Behavior<Command>> then) {
        ctx.pipeToSelf(task, (result, failure) -> new Worked(session, result, failure));
        return state(session.join(), session::close, Behaviors.receive(Command.class)
                .onMessage(Worked.class, w -> w.session() == session, w -> then.apply(resultOf(w), w.failure()))
                .onMessage(FromWire.class, w -> {
                    if (w.message() instanceof Probe p && session.join().jobId().equals(p.jobId())) {
                        // The coordinator has ended this ring (a peer is gone or paused): a step blocked in
                        // its all-reduce must not keep the probe waiting, or this healthy worker is released.
                        session.abortRing();
                    }
                    return waitFor(session.join(), w);
                }));
    }

    /** Rank 0 exports the model if asked; every rank closes its job and is free again. */
    private Behavior<Command> finishing(Place place, FinishJob f) {
        boolean export = f.exportModel() && place.rank() == 0;
        return busy(place.session(), place.session().finish(export), (ignored, failure) -> {
            tell(place.join(), new JobFinished(f.jobId(), place.rank(), failure != null ? rootMessage(failure) : ""));
            if (leaving != null) {
                leaving.tell(Done.getInstance());
                return Behaviors.stopped();
            }
            if (coordinator != null) {
                // Released from a running job (e.g. too slow to answer a probe): offer itself again.
                hello();
            }
            return stash.unstashAll(idle());
        });
    }

    /** What every state does: coordinator changes, leave requests, hellos, stale outcomes, release. */
    private Behavior<Command> state(JoinJob join, Runnable release, BehaviorBuilder<Command> specific) {
        return specific
                .onMessage(CoordinatorsChanged.class, c -> onCoordinatorsChanged(c, join, release))
                .onMessage(Leave.class, l -> onLeave(l, join))
                .onMessage(HelloAgain.class, h -> onHelloAgain(join))
                // Outcomes of a job dropped meanwhile (its session is closed by the release that dropped it).
                .onMessage(Prepared.class, p -> Behaviors.same())
                .onMessage(Worked.class, w -> Behaviors.same())
                .onSignal(PreRestart.class, s -> released(release))
                .onSignal(PostStop.class, s -> released(release))
                .build();
    }

    // ---- job messages ---------------------------------------------------------------------------

    private Behavior<Command> onPrepared(Prepared p) {
        JoinJob j = p.join();
        if (p.failure() != null) {
            tell(j, new JobReady(j.jobId(), 0, false, rootMessage(p.failure()), "", 0, -1, wire, "", 0));
            if (leaving != null) {
                leaving.tell(Done.getInstance()); // it asked to leave while its job was being prepared
                return Behaviors.stopped();
            }
            return stash.unstashAll(idle());
        }
        InetSocketAddress state = p.session().stateAddress();
        tell(j, new JobReady(j.jobId(), 0, true, "", "", 0, -1, wire, state.getHostString(), state.getPort()));
        return resume(new Place(p.session(), -1, -1));
    }

    /** A message for a member of the job that is not specific to ready or in-ring. */
    private Behavior<Command> member(Place place, FromWire w) {
        WorkerSession session = place.session();
        if (w.message() instanceof Probe p && place.holds(p.jobId())) {
            return busy(session, session.leaveRingAndOffer(p.stateToken()), (offer, failure) -> {
                String problem = failure != null ? rootMessage(failure) : offer.problem();
                if (!problem.isEmpty()) {
                    ctx.getLog().warn("could not offer this worker's state: {}", problem);
                }
                tell(place.join(), new ProbeReply(p.jobId(), p.generation(), wire, session.steps(),
                        offer != null ? offer.checksum() : 0, leaving != null));
                return resume(new Place(session, p.generation(), -1));
            });
        }
        if (w.message() instanceof FinishJob f && place.holds(f.jobId())) {
            return finishing(place, f);
        }
        return other(place, w);
    }

    private Behavior<Command> runStep(Place place, RunStep r) {
        WorkerSession session = place.session();
        if (r.step() != session.steps() + 1) {
            tell(place.join(), new StepFailed(r.jobId(), place.rank(), r.step(), "worker has applied "
                    + session.steps() + " steps, so it cannot run step " + r.step(), place.generation(),
                    OptionalInt.empty()));
            return Behaviors.same();
        }
        return busy(session, session.runStep(r, place.rank()), (done, failure) -> {
            if (failure == null) {
                tell(place.join(), done);
                return resume(place);
            }
            tell(place.join(), new StepFailed(r.jobId(), place.rank(), r.step(), rootMessage(failure),
                    r.generation(), SessionException.brokenLinkPeer(failure)));
            if (!SessionException.isRingFailure(failure)) {
                // Not the ring: this worker's own engine failed. Restart it clean (supervision).
                throw new WorkerFailure("step " + r.step() + " failed on this worker: " + rootMessage(failure), failure);
            }
            return resume(place);
        });
    }

    private Behavior<Command> onRingJoined(Place place, FormRing f, InetSocketAddress address, Throwable failure) {
        if (failure != null) {
            tell(place.join(), new JobReady(f.jobId(), f.rank(), false, rootMessage(failure), "", 0, f.generation(),
                    wire, "", 0));
            return resume(place);
        }
        tell(place.join(), new JobReady(f.jobId(), f.rank(), true, "", address.getHostString(), address.getPort(),
                f.generation(), wire, "", 0));
        return resume(new Place(place.session(), f.generation(), f.rank()));
    }

    /**
     * Back from a task: what waited is handled now, in order, except that a finish goes first
     * (the job is over, so a probe or step that waited before it is moot).
     */
    private Behavior<Command> resume(Place place) {
        rank = place.rank();
        for (FinishJob f : waiting(FinishJob.class)) {
            if (place.holds(f.jobId())) {
                return finishing(place, f); // the finish itself is dropped from the stash after the job
            }
        }
        return stash.unstashAll(place.inRing() ? inRing(place) : ready(place));
    }

    private <M extends JobMessage> List<M> waiting(Class<M> type) {
        List<M> found = new ArrayList<>();
        stash.forEach(m -> {
            if (m instanceof FromWire w && type.isInstance(w.message())) {
                found.add(type.cast(w.message()));
            }
        });
        return found;
    }

    /** Job messages wait while a job is prepared or a task runs; another job or a refusal cannot. */
    private Behavior<Command> waitFor(JoinJob join, FromWire w) {
        if (w.message() instanceof JoinJob) {
            return refuse(join, w);
        }
        if (w.message() instanceof JobFinished) {
            return other(null, w);
        }
        if (stash.isFull()) {
            ctx.getLog().warn("dropping a {}: {} messages already wait", w.message().getClass().getSimpleName(),
                    stash.size());
        } else {
            stash.stash(w);
        }
        return Behaviors.same();
    }

    /** What no state takes: another job, a refusal, a step or ring this worker cannot serve. */
    private Behavior<Command> other(Place place, FromWire w) {
        JobMessage payload = w.message();
        JoinJob join = place != null ? place.join() : null;
        if (payload instanceof JobFinished refused) {
            // The coordinator turned this worker away (another version, job full).
            ctx.getLog().error("coordinator refused this worker: {}", refused.error());
            ctx.getSystem().eventStream().tell(new EventStream.Publish<>(new Refused(refused.error())));
            return Behaviors.stopped();
        } else if (payload instanceof JoinJob) {
            return refuse(join, w);
        } else if (payload instanceof RunStep r) {
            tell(join, new StepFailed(r.jobId(), place != null ? place.rank() : -1, r.step(),
                    "worker is not ready for step " + r.step() + " of generation " + r.generation(), r.generation(),
                    OptionalInt.empty()));
        } else if (payload instanceof FormRing f) {
            ctx.getLog().warn("ignoring a ring of generation {} (this worker is at {})", f.generation(),
                    place != null ? place.generation() : -1);
        } else if (!(payload instanceof Probe || payload instanceof ConnectRing || payload instanceof FinishJob)) {
            ctx.getLog().warn("ignoring unexpected {} from the cluster", payload.getClass().getSimpleName());
        }
        return Behaviors.same();
    }

    private Behavior<Command> refuse(JoinJob current, FromWire w) {
        if (w.message() instanceof JoinJob j && current != null) {
            tell(j, new JobReady(j.jobId(), 0, false, "worker is already in job " + current.jobId(), "", 0, 0, wire,
                    "", 0));
        }
        return Behaviors.same();
    }

    // ---- the coordinator ------------------------------------------------------------------------

    private Behavior<Command> onCoordinatorsChanged(CoordinatorsChanged msg, JoinJob join, Runnable release) {
        var coordinators = msg.listing().getServiceInstances(ServiceKeys.COORDINATORS);
        Behavior<Command> next = Behaviors.same();
        if (coordinator != null && !coordinators.contains(coordinator)) {
            // The coordinator is gone: a job cannot go on without it. Drop it and wait for the
            // next coordinator (a resumed one hands out the state again).
            if (join != null) {
                ctx.getLog().warn("lost the coordinator; dropping job {} and waiting for a coordinator", join.jobId());
                release.run();
                stash.clear();
                next = idle();
            }
            coordinator = null;
        }
        for (ActorRef<JobMessage> c : coordinators) {
            if (coordinator == null && leaving == null) {
                coordinator = c;
                hello();
            }
        }
        return next;
    }

    private Behavior<Command> onHelloAgain(JoinJob join) {
        if (coordinator != null && join == null && leaving == null) {
            hello();
        } else {
            timers.cancel(HelloAgain.INSTANCE);
        }
        return Behaviors.same();
    }

    private void hello() {
        if (!timers.isTimerActive(HelloAgain.INSTANCE)) {
            timers.startTimerWithFixedDelay(HelloAgain.INSTANCE, Duration.ofSeconds(1));
        }
        coordinator.tell(new WorkerHello(wire, settings.version(), settings.threads(), settings.device().toString(),
                dataPlane.host(), dataPlane.admissionKey(), settings.standby()));
    }

    private Behavior<Command> onLeave(Leave leave, JoinJob join) {
        leaving = leave.done();
        if (join == null) {
            leave.done().tell(Done.getInstance());
            return Behaviors.stopped();
        }
        ctx.getLog().info("leaving job {} at the next step boundary", join.jobId());
        tell(join, new LeaveRequest(join.jobId(), wire));
        return Behaviors.same();
    }

    /** Replies to the coordinator of {@code join}, or to the known coordinator when there is no job. */
    private void tell(JoinJob join, JobMessage message) {
        ActorRef<JobMessage> target = join != null ? join.coordinator() : coordinator;
        if (target != null) {
            target.tell(message);
        }
    }

    private static Behavior<Command> released(Runnable release) {
        release.run();
        return Behaviors.same();
    }

    @SuppressWarnings("unchecked")
    private static <T> T resultOf(Worked w) {
        return (T) w.result();
    }

    /** This worker's own step failed: thrown to its supervisor, which restarts it with backoff. */
    static final class WorkerFailure extends TroupeException {
        private static final long serialVersionUID = 1L;

        WorkerFailure(String message, Throwable cause) {
            super(Failures.kindOf(cause), message, cause);
        }
    }
}
