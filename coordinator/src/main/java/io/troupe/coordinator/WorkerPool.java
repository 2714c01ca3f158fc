package io.troupe.coordinator;

import io.troupe.worker.job.protocol.WorkerHello;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.actor.Inbox;
import io.troupe.worker.actor.ServiceKeys;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Shares external workers among several jobs on one coordinator node (a hyperparameter study
 * runs one job per trial). Workers see the pool as their coordinator: it hands each idle
 * worker's hello to the oldest job that still wants workers, which then prepares the worker
 * as usual. When a job ends, its workers say hello again and go to the next job at once.
 *
 * <p>The pool keeps no queue of idle workers: a worker without a job repeats its hello every
 * second, so the pool hands out workers as they ask and a dead worker simply stops asking.
 */
public final class WorkerPool extends AbstractBehavior<WorkerPool.Command> {

    /** The pool's protocol. */
    public sealed interface Command permits Hello, Want, JobEnded, NodeLost {
    }

    /** A cluster message from a worker (only hellos come here). */
    record Hello(JobMessage message) implements Command {
    }

    /** A job's coordinator (its wire) wants {@code workers} workers. */
    public record Want(ActorRef<JobMessage> coordinator, int workers) implements Command {
    }

    /** A job ended: its workers are free again. */
    public record JobEnded(ActorRef<JobMessage> coordinator) implements Command {
    }

    /** A node left the cluster: its workers no longer count for their jobs. */
    record NodeLost(Address address) implements Command {
    }

    /** Jobs in the order they asked, with how many workers each wants. */
    private final Map<ActorRef<JobMessage>, Integer> wanted = new java.util.LinkedHashMap<>();
    /** Which job each handed-out worker belongs to. */
    private final Map<ActorRef<JobMessage>, ActorRef<JobMessage>> assigned = new HashMap<>();

    public static Behavior<Command> create() {
        return Behaviors.setup(WorkerPool::new);
    }

    private WorkerPool(ActorContext<Command> ctx) {
        super(ctx);
        ActorRef<JobMessage> wire = Inbox.spawn(ctx, "wire", JobMessage.class, Hello::new);
        ctx.getSystem().receptionist().tell(Receptionist.register(ServiceKeys.COORDINATORS, wire));
        ActorRef<ClusterEvent.MemberRemoved> removals = ctx.messageAdapter(ClusterEvent.MemberRemoved.class,
                e -> new NodeLost(e.member().address()));
        ActorRef<ClusterEvent.UnreachableMember> unreachable = ctx.messageAdapter(ClusterEvent.UnreachableMember.class,
                e -> new NodeLost(e.member().address()));
        Cluster cluster = Cluster.get(ctx.getSystem());
        cluster.subscriptions().tell(Subscribe.create(removals, ClusterEvent.MemberRemoved.class));
        cluster.subscriptions().tell(Subscribe.create(unreachable, ClusterEvent.UnreachableMember.class));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Hello.class, this::onHello)
                .onMessage(Want.class, w -> {
                    wanted.put(w.coordinator(), w.workers());
                    return this;
                })
                .onMessage(JobEnded.class, e -> {
                    wanted.remove(e.coordinator());
                    assigned.values().removeIf(e.coordinator()::equals);
                    return this;
                })
                .onMessage(NodeLost.class, this::onNodeLost)
                .build();
    }

    private Behavior<Command> onHello(Hello hello) {
        if (!(hello.message() instanceof WorkerHello h)) {
            return this;
        }
        ActorRef<JobMessage> job = assigned.get(h.worker());
        if (job == null) {
            job = nextJobWantingWorkers();
            if (job == null) {
                return this; // nobody needs it now; it asks again in a second
            }
            assigned.put(h.worker(), job);
        }
        job.tell(hello.message());
        return this;
    }

    private ActorRef<JobMessage> nextJobWantingWorkers() {
        for (Map.Entry<ActorRef<JobMessage>, Integer> e : wanted.entrySet()) {
            long has = assigned.values().stream().filter(e.getKey()::equals).count();
            if (has < e.getValue()) {
                return e.getKey();
            }
        }
        return null;
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
