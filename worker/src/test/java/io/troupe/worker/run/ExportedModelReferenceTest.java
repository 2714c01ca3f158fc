package io.troupe.worker.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.gpt.GptConfig;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The exported inference model computes GPT-2: its logits match {@link ReferenceGpt}, plain
 * double-precision loops written from the specification, on a tiny random model.
 */
class ExportedModelReferenceTest {

    /**
     * float32 ORT against the double reference. The measured gap is at most 6e-6 on logits of
     * magnitude up to about 15; a wrong convention (GELU variant, LayerNorm epsilon, attention
     * scale, mask, head layout) moves logits by 1e-4 or far more.
     */
    private static final double TOLERANCE = 2e-5;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "bias={0}, tied={1}")
    @CsvSource({"true, true", "false, true", "true, false"})
    void logitsMatchThePlainLoopReference(boolean bias, boolean tied) throws Exception {
        GptConfig cfg = new GptConfig(11, 8, 2, 2, 16, 0, bias, tied);
        float[] params = ExportedLogits.randomParameters(cfg, 20261206L);
        ReferenceGpt reference = new ReferenceGpt(cfg, params);
        Random random = new Random(5);
        try (ExportedLogits model = ExportedLogits.export(dir, cfg, params)) {
            // The full context, and a shorter one: the graph cuts wpe and the mask to the input's length.
            for (int t : new int[] {cfg.blockSize(), 5}) {
                long[][] ids = new long[3][t];
                for (long[] row : ids) {
                    for (int i = 0; i < t; i++) {
                        row[i] = random.nextInt(cfg.vocabSize());
                    }
                }
                float[][][] logits = model.run(ids);
                double worst = 0;
                double largest = 0;
                for (int b = 0; b < ids.length; b++) {
                    double[][] expected = reference.logits(ids[b]);
                    assertEquals(t, logits[b].length);
                    for (int i = 0; i < t; i++) {
                        assertEquals(cfg.vocabSize(), logits[b][i].length);
                        for (int v = 0; v < cfg.vocabSize(); v++) {
                            worst = Math.max(worst, Math.abs(logits[b][i][v] - expected[i][v]));
                            largest = Math.max(largest, Math.abs(expected[i][v]));
                        }
                    }
                }
                System.out.printf("T=%d: max |ORT - reference| = %.3g over logits up to %.3g%n", t, worst, largest);
                assertTrue(worst <= TOLERANCE, "T=" + t + ": max |ORT - reference| = " + worst + " > " + TOLERANCE);
                assertTrue(largest > 1, "the random model should produce non-trivial logits, max |logit| = " + largest);
            }
        }
    }
}
