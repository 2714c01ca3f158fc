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

    /** Statistics of one optimizer step. */
    record StepStats(long step, long lastStep, double loss, double lr, double gradNorm, double tokensPerSecond,
                     double stepMillis) {
    }

    /** A listener that ignores everything. */
    TrainListener SILENT = new TrainListener() {
    };
}
