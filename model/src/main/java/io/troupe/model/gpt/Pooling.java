package io.troupe.model.gpt;

import java.util.Locale;

/**
 * How a classification head summarises a sequence's final hidden states [T, C] into one [C]
 * vector. A causal model's last real token is the only position that has seen the whole
 * text, so {@link #LAST} is the default; {@link #MEAN} averages the real positions.
 */
public enum Pooling {
    /** The hidden state of the last non-pad token (position length - 1). */
    LAST,
    /** The mean of the hidden states of the non-pad tokens (positions 0 .. length - 1). */
    MEAN;

    /** The lower-case name used on the command line and in model metadata. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code last} or {@code mean}. @throws IllegalArgumentException otherwise */
    public static Pooling parse(String s) {
        for (Pooling p : values()) {
            if (p.label().equals(s)) {
                return p;
            }
        }
        throw new IllegalArgumentException("pooling must be last or mean, got '" + s + "'");
    }
}
