package io.troupe.coordinator;

import io.troupe.worker.plane.DataPlane;
import io.troupe.worker.plane.StateExchange;
import io.troupe.worker.actor.WorkerActor;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.run.TrainListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The root actor of a node: spawns a Coordinator (for a job, under a {@link CoordinatorSupervisor}
 * that turns its crash into a failed outcome) and/or Workers, according to the
 * node's roles. A worker whose step fails on its own (not the ring) throws; it is restarted with
 * exponential backoff, closing its native resources first, and offers itself to the job again.
 */
public final class Guardian {
    /** Restart backoff of a failed worker actor. */
    static final Duration MIN_BACKOFF = Duration.ofMillis(200);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

    /** The guardian's protocol: hand out the node's worker actors (to ask them to leave). */
    public record WorkersOf(ActorRef<List<ActorRef<WorkerActor.Command>>> replyTo) {
    }

    private Guardian() {
    }

    /**
     * @param job the job to coordinate, or null on a worker-only node
     * @param coordinatorPlane where a resumed coordinator serves its checkpoint (null when not resuming)
     * @param workers one data plane per worker to run on this node (empty on a coordinator-only node)
     */
    public static Behavior<WorkersOf> create(JobSpec job, DataPlane coordinatorPlane, TrainListener listener,
                                             Consumer<JobOutcome> onDone, WorkerSettings workerSettings,
                                             List<DataPlane> workers) {
        return Behaviors.setup(ctx -> {
            if (job != null) {
                StateExchange state = null;
                if (job.resume()) {
                    try {
                        state = coordinatorPlane.stateExchange();
                    } catch (ReductionException e) {
                        onDone.accept(new JobOutcome(null, e.getMessage()));
                        return Behaviors.stopped();
                    }
                }
                ctx.spawn(CoordinatorSupervisor.create(job, state, listener, onDone, null), "job");
            }
            List<ActorRef<WorkerActor.Command>> spawned = new ArrayList<>();
            for (int i = 0; i < workers.size(); i++) {
                spawned.add(ctx.spawn(Behaviors.supervise(WorkerActor.create(workerSettings, workers.get(i)))
                        .onFailure(SupervisorStrategy.restartWithBackoff(MIN_BACKOFF, MAX_BACKOFF, 0.2)),
                        "worker-" + i));
            }
            return Behaviors.receiveMessage(ask -> {
                ask.replyTo().tell(List.copyOf(spawned));
                return Behaviors.same();
            });
        });
    }
}
