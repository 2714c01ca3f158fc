package io.troupe.tuner.run;

import io.troupe.worker.run.TrainListener;

/**
 * Runs a trial's training and reports through a listener: {@code onEval} for every evaluation,
 * and {@code stopRequested} polled after every step (true once the pruner pruned it).
 * {@link TrainingExecutor} trains for real; tests substitute synthetic objectives.
 */
public interface TrialExecutor {

    /**
     * Trains the job to its end or until the listener asks to stop.
     *
     * @return the last step trained
     * @throws Exception anything that makes the trial FAILED; its message becomes the reason
     */
    long run(TrialJob job, TrainListener listener) throws Exception;

    /**
     * The trial reached a final state (COMPLETE, PRUNED or FAILED) and will never be resumed:
     * what was kept only for a restart (checkpoints) can go. Not called for a trial stopped by
     * {@link StudyRunner#requestStop}, which a resumed study continues.
     */
    default void trialEnded(TrialJob job) throws java.io.IOException {
    }

    /**
     * Population-based training's exploit: {@code to} continues from {@code from}'s newest state
     * (weights, AdamW moments, optimizer step, data position), under its own settings. After this,
     * {@link #run} of a resumed {@code to} starts from that state.
     */
    default void transfer(TrialJob from, TrialJob to) throws Exception {
        throw new UnsupportedOperationException("this executor cannot transfer training state");
    }
}
