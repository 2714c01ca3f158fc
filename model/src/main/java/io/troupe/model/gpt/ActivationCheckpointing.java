package io.troupe.model.gpt;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a training graph recomputes in its backward pass instead of keeping from the forward
 * pass (the {@code activation_checkpointing} training setting). Gradients are the same either
 * way (bit-identical without dropout, equal to float rounding with it; tested); only memory and
 * time differ.
 */
public enum ActivationCheckpointing {
    /** Keep every activation the backward pass reads (fastest, most memory). */
    NONE,
    /** Recompute each layer's attention weights ([B, NH, T, T]) in the backward pass: {@link RecomputedAttention}. */
    ATTENTION;

    /** The setting's spelling: "none" or "attention". */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses the setting's spelling.
     *
     * @throws IllegalArgumentException naming the allowed values
     */
    public static ActivationCheckpointing parse(String text) {
        for (ActivationCheckpointing c : values()) {
            if (c.label().equals(text)) {
                return c;
            }
        }
        throw new IllegalArgumentException("activation_checkpointing must be one of "
                + Arrays.stream(values()).map(ActivationCheckpointing::label).collect(Collectors.joining(", "))
                + ", got '" + text + "'");
    }
}
