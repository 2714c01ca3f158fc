package io.troupe.coordinator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.worker.job.protocol.LeaveRequest;
import io.troupe.worker.job.protocol.WorkerHello;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.actor.Inbox;
import io.troupe.worker.actor.ServiceKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
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
 * Shares external workers among several jobs on one coordinator node: a study's trials (one
 * job each) and possibly a long training job beside them. Workers see the pool as their
 * coordinator: it hands each idle worker's hello to the job {@link PoolPolicy} chooses, which
 * then prepares the worker as usual (for a running training job: an elastic join at the next
 * step boundary). When a job ends, its workers say hello again and go to the next job at once.
 *
 * <p>When a job has waited {@code troupe.pool.lend-wait} for a worker and a job of lower
 * priority holds more than its minimum, the pool <em>lends</em>: it assigns one of the lower
 * job's workers to the waiting one and asks the lower job, on its wire, to let that worker
 * leave ({@link LeaveRequest}, the message a worker sends on SIGTERM). The job takes it out of
 * its ring at the next step boundary and releases it; the worker says hello and now goes to
 * the job it was lent to. Nothing restarts: both moves are the elastic leave and join of
 * issue 6. Every placement and lend is a line of {@code pool.jsonl} in the run directory of
 * each job involved.
 *
 * <p>The pool keeps no queue of idle workers: a worker without a job repeats its hello every
 * second, so the pool hands out workers as they ask and a dead worker simply stops asking.
 */
public final class WorkerPool extends AbstractBehavior<WorkerPool.Command> {
    /** Name of the pool's event log inside a job's run directory. */
    public static final String EVENTS = "pool.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The pool's protocol. */
    public sealed interface Command permits Hello, Want, JobEnded, Checkpointed, NodeLost, Tick {
    }

    /** A cluster message from a worker (only hellos come here). */
    record Hello(JobMessage message) implements Command {
    }

    /**
     * A job's coordinator (its wire) wants up to {@code workers} workers.
     *
     * @param minWorkers the job's own elastic minimum (it never lends below it)
     * @param outDir where the job's {@code pool.jsonl} goes
     */
    public record Want(ActorRef<JobMessage> coordinator, String jobId, PoolPolicy.Kind kind, int minWorkers,
                       int workers, Path outDir) implements Command {
    }

    /** A job ended: its workers are free again. */
    public record JobEnded(ActorRef<JobMessage> coordinator) implements Command {
    }

    /** A job committed a step that wrote a checkpoint (with lend-after-checkpoint, it may lend now). */
    public record Checkpointed(ActorRef<JobMessage> coordinator, long step) implements Command {
    }

    /** A node left the cluster: its workers no longer count for their jobs. */
    record NodeLost(Address address) implements Command {
    }

    /** Time to see whether a waiting job should borrow a worker. */
    private enum Tick implements Command { INSTANCE }

    /** A job as the pool tracks it. */
    private static final class Entry {
        final Want want;
        final long order;
        long unmetSinceNanos;
        boolean checkpointed;

        Entry(Want want, long order) {
            this.want = want;
            this.order = order;
        }
    }

    private final PoolPolicy policy;
    /** Jobs in the order they asked. */
    private final Map<ActorRef<JobMessage>, Entry> jobs = new LinkedHashMap<>();
    /** Which job each handed-out worker belongs to, in the order they were handed out. */
    private final Map<ActorRef<JobMessage>, ActorRef<JobMessage>> assigned = new LinkedHashMap<>();
    /** The job each worker last served, so a placement can say where it came from. */
    private final Map<ActorRef<JobMessage>, String> lastJob = new HashMap<>();
    private long asked;

    public static Behavior<Command> create() {
        return create(new PoolPolicy(PoolPolicy.Settings.fromConfig(com.typesafe.config.ConfigFactory.load())));
    }

    public static Behavior<Command> create(PoolPolicy policy) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new WorkerPool(ctx, timers, policy)));
    }

    private WorkerPool(ActorContext<Command> ctx, TimerScheduler<Command> timers, PoolPolicy policy) {
        super(ctx);
        this.policy = policy;
        ActorRef<JobMessage> wire = Inbox.spawn(ctx, "wire", JobMessage.class, Hello::new);
        ctx.getSystem().receptionist().tell(Receptionist.register(ServiceKeys.COORDINATORS, wire));
        ActorRef<ClusterEvent.MemberRemoved> removals = ctx.messageAdapter(ClusterEvent.MemberRemoved.class,
                e -> new NodeLost(e.member().address()));
        ActorRef<ClusterEvent.UnreachableMember> unreachable = ctx.messageAdapter(ClusterEvent.UnreachableMember.class,
                e -> new NodeLost(e.member().address()));
        Cluster cluster = Cluster.get(ctx.getSystem());
        cluster.subscriptions().tell(Subscribe.create(removals, ClusterEvent.MemberRemoved.class));
        cluster.subscriptions().tell(Subscribe.create(unreachable, ClusterEvent.UnreachableMember.class));
        Duration every = policy.settings().lendWait().dividedBy(4);
        timers.startTimerWithFixedDelay(Tick.INSTANCE, every.isZero() ? Duration.ofMillis(100) : every);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Hello.class, this::onHello)
                .onMessage(Want.class, w -> {
                    jobs.put(w.coordinator(), new Entry(w, asked++));
                    return this;
                })
                .onMessage(JobEnded.class, e -> {
                    jobs.remove(e.coordinator());
                    assigned.values().removeIf(e.coordinator()::equals);
                    return this;
                })
                .onMessage(Checkpointed.class, c -> {
                    Entry e = jobs.get(c.coordinator());
                    if (e != null) {
                        e.checkpointed = true;
                    }
                    return this;
                })
                .onMessage(NodeLost.class, this::onNodeLost)
                .onMessage(Tick.class, t -> lendIfStarved())
                .build();
    }

    private Behavior<Command> onHello(Hello hello) {
        if (!(hello.message() instanceof WorkerHello h) || h.worker() == null) {
            return this;
        }
        ActorRef<JobMessage> job = assigned.get(h.worker());
        if (job == null) {
            Optional<PoolPolicy.Job> chosen = policy.placeIdle(view());
            if (chosen.isEmpty()) {
                return this; // nobody needs it now; it asks again in a second
            }
            job = coordinatorOf(chosen.get().id());
            assigned.put(h.worker(), job);
            Entry e = jobs.get(job);
            log(List.of(e), "assign", h.worker(), lastJob.get(h.worker()), e.want.jobId(), "idle worker");
        }
        lastJob.put(h.worker(), jobs.get(job).want.jobId());
        job.tell(hello.message());
        return this;
    }

    /** Lends one worker to a job that has waited too long, if a job of lower priority can spare one. */
    private Behavior<Command> lendIfStarved() {
        Optional<PoolPolicy.Lend> lend = policy.lend(view());
        if (lend.isEmpty()) {
            return this;
        }
        ActorRef<JobMessage> from = coordinatorOf(lend.get().from().id());
        ActorRef<JobMessage> to = coordinatorOf(lend.get().to().id());
        ActorRef<JobMessage> worker = null;
        for (Map.Entry<ActorRef<JobMessage>, ActorRef<JobMessage>> a : assigned.entrySet()) {
            if (a.getValue().equals(from)) {
                worker = a.getKey(); // the last one handed out: the newest member of the lender
            }
        }
        if (worker == null) {
            return this;
        }
        Entry lender = jobs.get(from);
        Entry borrower = jobs.get(to);
        assigned.put(worker, to);
        lender.checkpointed = false;
        borrower.unmetSinceNanos = 0;
        getContext().getLog().info("lending worker {} of job {} to job {} (it waited for a worker)", worker,
                lender.want.jobId(), borrower.want.jobId());
        log(List.of(lender, borrower), "lend", worker, lender.want.jobId(), borrower.want.jobId(),
                borrower.want.kind().configKey() + " of priority " + policy.settings().of(borrower.want.kind()).priority()
                        + " waited " + policy.settings().lendWait().toMillis() + " ms");
        from.tell(new LeaveRequest(lender.want.jobId(), worker));
        return this;
    }

    /** Every job as the policy sees it now; a job that wants workers it lacks starts its wait. */
    private List<PoolPolicy.Job> view() {
        long now = System.nanoTime();
        List<PoolPolicy.Job> view = new ArrayList<>();
        for (Map.Entry<ActorRef<JobMessage>, Entry> j : jobs.entrySet()) {
            Entry e = j.getValue();
            Want w = e.want;
            int holds = (int) assigned.values().stream().filter(j.getKey()::equals).count();
            if (holds >= w.workers()) {
                e.unmetSinceNanos = 0;
            } else if (e.unmetSinceNanos == 0) {
                e.unmetSinceNanos = now;
            }
            boolean starved = e.unmetSinceNanos != 0
                    && now - e.unmetSinceNanos >= policy.settings().lendWait().toNanos();
            boolean mayLend = w.kind() != PoolPolicy.Kind.TRAINING || !policy.settings().lendAfterCheckpoint()
                    || e.checkpointed;
            view.add(new PoolPolicy.Job(w.jobId(), w.kind(), w.workers(), holds,
                    policy.minimumOf(w.kind(), w.minWorkers()), e.order, starved, mayLend));
        }
        return view;
    }

    private ActorRef<JobMessage> coordinatorOf(String jobId) {
        return jobs.entrySet().stream().filter(e -> e.getValue().want.jobId().equals(jobId)).findFirst()
                .orElseThrow().getKey();
    }

    /** Appends one event to {@code pool.jsonl} of each job; a write that fails is logged, never fatal. */
    private void log(List<Entry> to, String event, ActorRef<JobMessage> worker, String from, String job, String why) {
        ObjectNode line = JSON.createObjectNode().put("time", Instant.now().toString()).put("event", event)
                .put("worker", worker.path().toString()).put("from", from).put("to", job).put("reason", why);
        for (Entry e : to) {
            Path file = e.want.outDir().resolve(EVENTS);
            try {
                Files.createDirectories(e.want.outDir());
                Files.writeString(file, line.toString() + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException failure) {
                getContext().getLog().warn("cannot append to {}: {}", file, failure.getMessage());
            }
        }
    }

    private Behavior<Command> onNodeLost(NodeLost lost) {
        List<ActorRef<JobMessage>> gone = new ArrayList<>();
        for (ActorRef<JobMessage> worker : assigned.keySet()) {
            if (worker.path().address().equals(lost.address())) {
                gone.add(worker);
            }
        }
        gone.forEach(assigned::remove);
        return this;
    }
}
