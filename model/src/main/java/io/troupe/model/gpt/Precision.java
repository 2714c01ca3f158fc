package io.troupe.model.gpt;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The numeric precision of a training step (the {@code precision} training setting and the
 * {@code --precision} flag). Gradients and the AdamW state are float32 in every mode; fp32 and
 * fp16 keep float32 master weights, bf16-storage keeps bfloat16 parameter values.
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
    /**
     * Stored in bfloat16, computed in float32: the step graph keeps every activation its backward
     * pass reads in bfloat16 (forward and backward ops compute in float32, gradients leave in
     * float32), and the parameters hold bfloat16 values, rounded stochastically after each float32
     * AdamW update (the moments stay float32). Gradients travel the bf16 wire by default.
     */
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
