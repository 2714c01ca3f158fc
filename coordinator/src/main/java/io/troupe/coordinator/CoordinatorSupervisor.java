package io.troupe.coordinator;

import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.plane.StateExchange;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.job.protocol.JobMessage;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Watches one {@link Coordinator} so that a crash of it never leaves anyone waiting: whoever
 * waits for the job's outcome ({@link ClusterNode}, a {@link ClusterNode.JobHost} caller) gets a
 * failed {@link JobOutcome} that says what broke, how far the checkpoints go and how to resume.
 *
 * <p>The coordinator is not restarted: its state (the ring, the committed step, the sample
 * ledger) is not rebuilt from nothing mid-job, and a restarted coordinator would re-prepare
 * workers that are still in the old ring. Resuming from the run directory is the recovery.
 */
public final class CoordinatorSupervisor {
    private CoordinatorSupervisor() {
    }

    /**
     * A behaviour that spawns the coordinator of {@code spec} as its child and stops with it.
     * {@code onDone} is called exactly once: with the coordinator's outcome, or with a failure
     * when the coordinator crashed.
     *
     * @param announce see {@link Coordinator#create(JobSpec, StateExchange, TrainListener, Consumer, Consumer)}
     */
    public static Behavior<Void> create(JobSpec spec, StateExchange coordinatorState, TrainListener listener,
                                        Consumer<JobOutcome> onDone, Consumer<ActorRef<JobMessage>> announce) {
        return Behaviors.setup(ctx -> {
            AtomicBoolean reported = new AtomicBoolean();
            Consumer<JobOutcome> once = outcome -> {
                if (reported.compareAndSet(false, true)) {
                    onDone.accept(outcome);
                }
            };
            ctx.watch(ctx.spawn(Coordinator.create(spec, coordinatorState, listener, once, announce), "coordinator"));
            return Behaviors.<Void>receive(Void.class)
                    .onSignal(ChildFailed.class, failed -> {
                        String why = crashReport(failed.cause(), spec.outDir());
                        ctx.getLog().error("job {}: {}", spec.jobId(), why);
                        once.accept(new JobOutcome(null, why));
                        return Behaviors.stopped();
                    })
                    .onSignal(Terminated.class, stopped -> {
                        // It stopped on its own after reporting; if it somehow did not, say so.
                        once.accept(new JobOutcome(null, "the coordinator stopped without an outcome; "
                                + checkpointAdvice(spec.outDir())));
                        return Behaviors.stopped();
                    })
                    .build();
        });
    }

    /** The one line a user reads when the coordinator crashed. */
    static String crashReport(Throwable cause, Path outDir) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String what = root.getMessage() == null ? root.getClass().getName()
                : root.getMessage() + " (" + root.getClass().getSimpleName() + ")";
        return "the coordinator failed: " + what + "; " + checkpointAdvice(outDir);
    }

    private static String checkpointAdvice(Path outDir) {
        try {
            List<Path> checkpoints = new CheckpointStore(outDir, 1).list();
            if (!checkpoints.isEmpty()) {
                String newest = checkpoints.get(0).getFileName().toString().replaceAll("\\D", "");
                return "the run directory " + outDir + " has checkpoints up to step " + newest
                        + "; resume with 'troupe coordinator --resume " + outDir + "'";
            }
        } catch (CheckpointException e) {
            return "its checkpoints in " + outDir + " cannot be listed (" + e.getMessage() + ")";
        }
        return "the run directory " + outDir + " has no checkpoint yet; start the job again";
    }
}
