package io.troupe.coordinator;

import io.troupe.worker.actor.DataPlane;
import io.troupe.worker.actor.WorkerActor;
import io.troupe.worker.actor.WorkerSettings;
import io.troupe.worker.train.TrainListener;
import java.util.List;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The root actor of a node: spawns a Coordinator (for a job) and/or Workers, according to the
 * node's roles. A worker whose behaviour throws is restarted; its native resources are closed
 * on stop by the Worker itself.
 */
public final class Guardian {
    private Guardian() {
    }

    /**
     * @param job the job to coordinate, or null on a worker-only node
     * @param workers one data plane per worker to run on this node (empty on a coordinator-only node)
     */
    public static Behavior<Void> create(JobSpec job, TrainListener listener, Consumer<JobOutcome> onDone,
                                        WorkerSettings workerSettings, List<DataPlane> workers) {
        return Behaviors.setup(ctx -> {
            if (job != null) {
                ctx.spawn(Coordinator.create(job, listener, onDone), "coordinator");
            }
            for (int i = 0; i < workers.size(); i++) {
                ctx.spawn(Behaviors.supervise(WorkerActor.create(workerSettings, workers.get(i)))
                        .onFailure(SupervisorStrategy.restart()), "worker-" + i);
            }
            return Behaviors.empty();
        });
    }
}
