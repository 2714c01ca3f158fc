package io.troupe.worker.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.bert.EncoderGraphs;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class MlmMaskingTest {
    private static final int V = 1000;
    private static final long CLS = 1;
    private static final long SEP = 2;
    private static final long MASK = 3;

    /** 100,000 tokens: every tenth a [CLS] or [SEP], the rest ordinary ids 10..999. */
    private static long[] tokens() {
        long[] t = new long[100_000];
        for (int i = 0; i < t.length; i++) {
            t[i] = i % 10 == 0 ? (i % 20 == 0 ? CLS : SEP) : 10 + (i * 7919L) % (V - 10);
        }
        return t;
    }

    @Test
    void fifteenPercentArePredictedSplit80To10To10AndSpecialsNever() {
        long[] original = tokens();
        long[][] out = new MlmMasking(V, MASK, new long[] {0, CLS, SEP}, 42).apply(original);
        long[] corrupted = out[0];
        long[] targets = out[1];
        int ordinary = 0;
        int chosen = 0;
        int masked = 0;
        int kept = 0;
        int replaced = 0;
        for (int i = 0; i < original.length; i++) {
            boolean special = original[i] == CLS || original[i] == SEP;
            if (special) {
                assertEquals(EncoderGraphs.IGNORE, targets[i], "a special token was chosen at " + i);
                assertEquals(original[i], corrupted[i]);
                continue;
            }
            ordinary++;
            if (targets[i] == EncoderGraphs.IGNORE) {
                assertEquals(original[i], corrupted[i], "an unchosen token changed at " + i);
                continue;
            }
            chosen++;
            assertEquals(original[i], targets[i], "the target is the original token");
            if (corrupted[i] == MASK) {
                masked++;
            } else if (corrupted[i] == original[i]) {
                kept++;
            } else {
                replaced++;
                assertTrue(corrupted[i] != CLS && corrupted[i] != SEP && corrupted[i] != 0, "replaced by a special");
            }
        }
        // 90,000 ordinary tokens: 15% +- 0.4% (about 3.5 standard deviations), splits +- 1.5 points.
        assertEquals(0.15, chosen / (double) ordinary, 0.004);
        assertEquals(0.8, masked / (double) chosen, 0.015);
        assertEquals(0.1, kept / (double) chosen, 0.015);
        assertEquals(0.1, replaced / (double) chosen, 0.015);
    }

    @Test
    void masksAreDynamicEachDrawOfTheSameWindowGetsANewOneButTheSeedReproducesThem() {
        long[] window = Arrays.copyOf(tokens(), 512);
        MlmMasking a = new MlmMasking(V, MASK, new long[] {CLS, SEP}, 7);
        long[] first = a.apply(window)[1];
        long[] second = a.apply(window)[1];
        assertFalse(Arrays.equals(first, second), "the same window drew the same mask twice");
        MlmMasking b = new MlmMasking(V, MASK, new long[] {CLS, SEP}, 7);
        assertArrayEquals(first, b.apply(window)[1]);
        assertArrayEquals(second, b.apply(window)[1]);
    }

    @Test
    void aMaskIdOutsideTheVocabularyIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new MlmMasking(10, 10, new long[0], 1));
    }
}
