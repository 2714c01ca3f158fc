package io.troupe.model.gpt;

import java.util.Locale;

/**
 * How a classification head summarises a sequence's final hidden states [T, C] into one [C]
 * vector. A causal model's last real token is the only position that has seen the whole
 * text, so {@link #LAST} is its default; {@link #MEAN} averages the real positions (what
 * sentence encoders such as all-MiniLM-L6-v2 use); {@link #CLS} reads an encoder's position 0.
 */
public enum Pooling {
    /** The hidden state of the last non-pad token (position length - 1). */
    LAST,
    /** The mean of the hidden states of the non-pad tokens (positions 0 .. length - 1). */
    MEAN,
    /**
     * The hidden state of position 0, an encoder's [CLS] token: under bidirectional attention it
     * has seen the whole text (BERT's pooling; meaningless for a causal model, which refuses it).
     */
    CLS;

    /** The lower-case name used on the command line and in model metadata. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code last}, {@code mean} or {@code cls}. @throws IllegalArgumentException otherwise */
    public static Pooling parse(String s) {
        for (Pooling p : values()) {
            if (p.label().equals(s)) {
                return p;
            }
        }
        throw new IllegalArgumentException("pooling must be last, mean or cls, got '" + s + "'");
    }
}
