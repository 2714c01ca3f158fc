package io.troupe.ops.inference;

/**
 * The CTRL repetition penalty (Keskar et al. 2019, as Hugging Face applies it): the logit of
 * every token already in the sequence is divided by the penalty when positive and multiplied by
 * it when negative, so a penalty above 1 makes repeats less likely and 1 changes nothing.
 */
public final class RepetitionPenalty {
    private final double penalty;
    private final boolean[] seen;

    /**
     * @param penalty > 0 (1 = off)
     * @param vocab vocabulary size
     */
    public RepetitionPenalty(double penalty, int vocab) {
        if (!(penalty > 0) || Double.isInfinite(penalty)) {
            throw new IllegalArgumentException("--repetition-penalty must be a positive number, got " + penalty);
        }
        this.penalty = penalty;
        this.seen = new boolean[vocab];
    }

    /** Records tokens of the sequence (prompt or generated). */
    public void saw(int... tokens) {
        for (int t : tokens) {
            seen[t] = true;
        }
    }

    /** Penalizes, in place, the logits [V] of every token seen so far. */
    public void apply(float[] logits) {
        if (penalty == 1) {
            return;
        }
        for (int i = 0; i < seen.length; i++) {
            if (seen[i]) {
                logits[i] = (float) (logits[i] > 0 ? logits[i] / penalty : logits[i] * penalty);
            }
        }
    }
}
