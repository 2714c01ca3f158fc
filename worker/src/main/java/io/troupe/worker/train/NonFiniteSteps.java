package io.troupe.worker.train;

/**
 * The non-finite policy of a run, written once for local and distributed training: a step
 * whose loss or gradient is NaN or infinite is skipped (its update is not applied) and counted,
 * and {@code max_nonfinite_steps} such steps in a row stop the run. One bad batch is survived;
 * a run that has truly diverged stops early instead of burning steps on NaN.
 *
 * <p>Not thread-safe; it belongs to the loop (or actor) that commits steps.
 */
public final class NonFiniteSteps {
    private final int limit;
    private long skipped;
    private int inARow;

    /**
     * @param limit stop after this many non-finite steps in a row (at least 1)
     * @param skippedSoFar steps a resumed run had already skipped, so the total stays a total
     */
    public NonFiniteSteps(int limit, long skippedSoFar) {
        if (limit < 1) {
            throw new IllegalArgumentException("max_nonfinite_steps must be >= 1, got " + limit);
        }
        if (skippedSoFar < 0) {
            throw new IllegalArgumentException("a skipped-step count cannot be negative, got " + skippedSoFar);
        }
        this.limit = limit;
        this.skipped = skippedSoFar;
    }

    /** The policy of these settings, starting from no skipped steps. */
    public static NonFiniteSteps of(TrainSettings settings) {
        return new NonFiniteSteps(settings.maxNonfiniteSteps(), 0);
    }

    /**
     * Records whether a committed step was skipped for a non-finite loss or gradient.
     *
     * @return true when this step makes {@code limit} skipped steps in a row: the run must stop
     */
    public boolean record(boolean stepSkipped) {
        if (!stepSkipped) {
            inARow = 0;
            return false;
        }
        skipped++;
        inARow++;
        return inARow >= limit;
    }

    /** Steps skipped so far, the resumed run's included: {@code steps_skipped} in summary.json. */
    public long skipped() {
        return skipped;
    }

    /** Skipped steps since the last good one. */
    public int inARow() {
        return inARow;
    }

    /**
     * The one-line error of a run stopped at {@code step}: what happened, where the last good
     * checkpoint is, and what to change.
     *
     * @param lastGoodCheckpoint the checkpoint to resume from, as the user should read it
     */
    public String divergedMessage(long step, String lastGoodCheckpoint) {
        return "training diverged: " + inARow + " steps in a row up to step " + step
                + " had a non-finite loss or gradient (each was skipped); the last good checkpoint is "
                + lastGoodCheckpoint + "; lower learning_rate or raise warmup_iters, then resume";
    }
}
