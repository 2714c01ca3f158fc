package io.troupe.worker.run;

import java.nio.file.Path;

/** Progress callbacks of a {@link Trainer}; the CLI renders them as a progress bar or log lines. */
public interface TrainListener {

    /** Training starts at {@code firstStep} (0, or the resumed step) and ends at {@code lastStep}. */
    default void onStart(long firstStep, long lastStep, long parameters) {
    }

    /** One optimizer step finished. */
    default void onStep(StepStats stats) {
    }

    /** An evaluation finished: mean losses over eval_iters batches of each split. */
    default void onEval(long step, double trainLoss, double valLoss) {
    }

    /** After {@link #onEval} of an MLM encoder: the top-1 accuracy over the val split's masked tokens. */
    default void onMaskedAccuracy(long step, double valAccuracy) {
    }

    /**
     * Polled after every step: true asks the run to stop there, as {@link Trainer#requestStop}
     * does (a tuner prunes a trial this way). The run then ends early without exporting.
     */
    default boolean stopRequested() {
        return false;
    }

    /** A checkpoint was written. */
    default void onCheckpoint(long step, Path file) {
    }

    /**
     * A checkpoint was written in {@code seconds}; by default the same as
     * {@link #onCheckpoint(long, Path)}, which listeners that do not time it override.
     */
    default void onCheckpoint(long step, Path file, double seconds) {
        onCheckpoint(step, file);
    }

    /** A ring of {@code workers} workers was formed (a distributed job; a local run has none). */
    default void onRingFormed(int workers) {
    }

    /** A worker failed (crashed, vanished or timed out) and the ring re-forms without it. */
    default void onWorkerFailure() {
    }

    /**
     * Statistics of one optimizer step.
     *
     * @param mfu model FLOPs utilisation of the step ({@link io.troupe.worker.metrics.ModelFlops}), 0 if unknown
     * @param workers the workers that computed it (1 for a local run)
     * @param allreduceMillis mean time the workers spent all-reducing gradients (0 for a local run)
     * @param allreduceBytes gradient bytes all workers sent over the ring in this step
     * @param allreduceExposedMillis the part of {@code allreduceMillis} not hidden behind the
     *     backward pass (all of it unless {@code overlap_allreduce})
     */
    record StepStats(long step, long lastStep, double loss, double lr, double gradNorm, double tokensPerSecond,
                     double stepMillis, double mfu, int workers, double allreduceMillis, long allreduceBytes,
                     double allreduceExposedMillis) {

        /** A step whose all-reduce was all exposed. */
        public StepStats(long step, long lastStep, double loss, double lr, double gradNorm, double tokensPerSecond,
                         double stepMillis, double mfu, int workers, double allreduceMillis, long allreduceBytes) {
            this(step, lastStep, loss, lr, gradNorm, tokensPerSecond, stepMillis, mfu, workers, allreduceMillis,
                    allreduceBytes, allreduceMillis);
        }

        /** A local step without MFU: one worker, no all-reduce. */
        public StepStats(long step, long lastStep, double loss, double lr, double gradNorm, double tokensPerSecond,
                         double stepMillis) {
            this(step, lastStep, loss, lr, gradNorm, tokensPerSecond, stepMillis, 0, 1, 0, 0);
        }
    }

    /** A listener that ignores everything. */
    TrainListener SILENT = new TrainListener() {
    };
}
