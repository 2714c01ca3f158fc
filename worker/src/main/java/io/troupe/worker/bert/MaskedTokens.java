package io.troupe.worker.bert;

import java.util.Collection;

/**
 * Top-1 hits over masked positions of an MLM evaluation: the counts behind the masked-token
 * accuracy. Counts, not a ratio, travel between worker and coordinator so that evaluations over
 * several workers' batches pool as hits / masked, never as a mean of ratios.
 *
 * @param correct masked positions whose top-1 prediction is the original token
 * @param masked masked positions evaluated
 */
public record MaskedTokens(long correct, long masked) {
    public MaskedTokens {
        if (correct < 0 || masked < 0 || correct > masked) {
            throw new IllegalArgumentException("masked-token counts " + correct + " / " + masked + " are not hits / positions");
        }
    }

    /** Hits over masked positions; NaN when nothing was masked. */
    public double accuracy() {
        return masked == 0 ? Double.NaN : (double) correct / masked;
    }

    /** The counts of {@code parts} summed: the pooled evaluation of all their batches. */
    public static MaskedTokens pooled(Collection<MaskedTokens> parts) {
        long correct = 0;
        long masked = 0;
        for (MaskedTokens p : parts) {
            correct += p.correct;
            masked += p.masked;
        }
        return new MaskedTokens(correct, masked);
    }
}
