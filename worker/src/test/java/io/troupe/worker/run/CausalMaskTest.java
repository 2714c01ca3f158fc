package io.troupe.worker.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.troupe.model.gpt.GptConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported model is causal: the logits at position t depend only on tokens 0..t. Masked
 * scores become exactly -inf, so their softmax weights are exactly 0 and the earlier positions'
 * logits are bitwise the same whatever the later tokens are.
 */
class CausalMaskTest {

    @TempDir
    Path dir;

    @Test
    void laterTokensNeverChangeEarlierLogitsAndDoChangeTheirOwn() throws Exception {
        GptConfig cfg = new GptConfig(11, 8, 2, 2, 16, 0, true, true);
        Random random = new Random(11);
        try (ExportedLogits model = ExportedLogits.export(dir, cfg, ExportedLogits.randomParameters(cfg, 3))) {
            for (int length : new int[] {cfg.blockSize(), 6}) {
                for (int trial = 0; trial < 20; trial++) {
                    long[] original = tokens(random, length, cfg.vocabSize());
                    for (int t = 0; t < length - 1; t++) {
                        long[] changed = original.clone();
                        // Every token after t is replaced by a different one.
                        for (int j = t + 1; j < length; j++) {
                            changed[j] = (original[j] + 1 + random.nextInt(cfg.vocabSize() - 1)) % cfg.vocabSize();
                        }
                        float[][][] logits = model.run(new long[][] {original, changed});
                        for (int i = 0; i <= t; i++) {
                            assertArrayEquals(logits[0][i], logits[1][i], "T=" + length + ", tokens after " + t
                                    + " changed, logits at " + i + " of " + Arrays.toString(original));
                        }
                        assertFalse(Arrays.equals(logits[0][t + 1], logits[1][t + 1]), "T=" + length
                                + ": the token at " + (t + 1) + " changed but its logits did not");
                    }
                }
            }
        }
    }

    private static long[] tokens(Random random, int length, int vocab) {
        long[] ids = new long[length];
        for (int i = 0; i < length; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return ids;
    }
}
