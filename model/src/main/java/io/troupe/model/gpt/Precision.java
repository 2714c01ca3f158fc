package io.troupe.model.gpt;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The numeric precision of a training step (the {@code precision} training setting and the
 * {@code --precision} flag). Parameters, gradients and the AdamW state stay float32 in every
 * mode (the "master weights"); only what the step graph computes in changes.
 */
public enum Precision {
    /** Everything in float32: the default, and bit-identical to builds before the setting existed. */
    FP32("fp32"),
    /**
     * The forward and backward passes in float16: the graph casts the float32 parameters to
     * float16, computes the logits in float16, the loss in float32, and scales the loss by a
     * dynamic factor (the {@code loss_scale} input) so small gradients survive float16; the
     * float32 gradients it returns are already divided by that factor.
     */
    FP16("fp16"),
    /** Parameters stored in bfloat16, computed in float32: specified in issue 18, not built yet. */
    BF16_STORAGE("bf16-storage");

    private final String label;

    Precision(String label) {
        this.label = label;
    }

    /** The setting's spelling: "fp32", "fp16" or "bf16-storage". */
    public String label() {
        return label;
    }

    /**
     * Parses the setting's spelling.
     *
     * @throws IllegalArgumentException naming the allowed values
     */
    public static Precision parse(String text) {
        for (Precision p : values()) {
            if (p.label.equals(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("precision must be one of "
                + Arrays.stream(values()).map(Precision::label).collect(Collectors.joining(", "))
                + ", got '" + text + "'");
    }

    /** The spellings, for usage messages. */
    public static String labels() {
        return Arrays.stream(values()).map(Precision::label).collect(Collectors.joining("|"));
    }

    @Override
    public String toString() {
        return label.toLowerCase(Locale.ROOT);
    }
}
