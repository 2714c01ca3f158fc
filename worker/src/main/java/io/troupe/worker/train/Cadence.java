package io.troupe.worker.train;

/**
 * What happens at the end of a training step besides the update: evaluation, a metrics line,
 * a checkpoint. The one place this rule is written; local runs and the coordinator both ask it.
 *
 * <ul>
 *   <li>evaluate every {@code eval_interval} steps and at the last step;</li>
 *   <li>log every {@code log_interval} steps and whenever the step is evaluated;</li>
 *   <li>checkpoint every {@code checkpoint_interval} steps and at the last step, or, when that
 *       setting is 0, whenever the step is evaluated (so a checkpoint's val loss is known).</li>
 * </ul>
 */
public record Cadence(long evalInterval, long logInterval, long checkpointInterval, long lastStep) {
    public Cadence {
        if (evalInterval < 1 || logInterval < 1 || checkpointInterval < 0) {
            throw new IllegalArgumentException("intervals must be positive (checkpoint may be 0), got eval "
                    + evalInterval + ", log " + logInterval + ", checkpoint " + checkpointInterval);
        }
    }

    /** The cadence of a run with these settings. */
    public static Cadence of(TrainSettings settings) {
        return new Cadence(settings.evalInterval(), settings.logInterval(), settings.checkpointInterval(),
                settings.maxIters());
    }

    /** Whether {@code step} (1-based) ends with an evaluation of the train and val loss. */
    public boolean evaluates(long step) {
        return step % evalInterval == 0 || step == lastStep;
    }

    /** Whether {@code step} writes a line to metrics.jsonl. */
    public boolean logs(long step) {
        return evaluates(step) || step % logInterval == 0;
    }

    /** Whether {@code step} ends with a checkpoint. */
    public boolean checkpoints(long step) {
        if (checkpointInterval == 0) {
            return evaluates(step);
        }
        return step % checkpointInterval == 0 || step == lastStep;
    }
}
