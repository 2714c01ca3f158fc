package io.troupe.worker.bench;

import io.troupe.model.gpt.GptConfig;
import java.util.Locale;

/**
 * The benchmark shapes, both nanoGPT Tiny Shakespeare configs with V=65, B=12, no dropout:
 * {@code small} is the CPU config (L4 H4 C128 T64, 0.80M parameters, 3.97 GFLOP per step),
 * {@code big} the GPU config's model (L6 H6 C384 T256, 10.7M parameters, 218 GFLOP); and
 * {@code gpt2}, GPT-2 124M's shape with B=2 (one row per lane at 2 threads).
 */
public enum BenchConfig {
    SMALL(new GptConfig(65, 64, 4, 4, 128, 0.0, false, true), 12),
    BIG(new GptConfig(65, 256, 6, 6, 384, 0.0, false, true), 12),
    /** GPT-2 124M's shape (L12 H12 C768 T1024, V 50,304 as nanoGPT pads it, biases), two rows a step. */
    GPT2(new GptConfig(50304, 1024, 12, 12, 768, 0.0, true, true), 2);

    private final GptConfig model;
    private final int batch;

    BenchConfig(GptConfig model, int batch) {
        this.model = model;
        this.batch = batch;
    }

    public GptConfig model() {
        return model;
    }

    public int batch() {
        return batch;
    }

    /** Lower-case name as the CLI spells it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses "small", "big" or "gpt2". */
    public static BenchConfig parse(String text) {
        for (BenchConfig c : values()) {
            if (c.label().equals(text)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown benchmark config '" + text + "'; choose small, big or gpt2");
    }
}
