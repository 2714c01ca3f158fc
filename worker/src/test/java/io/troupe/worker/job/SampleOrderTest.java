package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.corpus.TokenSequence;
import java.nio.LongBuffer;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SampleOrderTest {
    private static final int T = 8;

    private static TokenSequence tokens(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i % 1000;
        }
        return TokenSequence.of(ids, 1000);
    }

    @Test
    void everyEpochVisitsEveryWindowOnce() {
        SampleOrder order = new SampleOrder(tokens(1000), T, 7);
        int perEpoch = order.samplesPerEpoch();
        assertEquals((1000 - T) / T, perEpoch);
        for (int epoch = 0; epoch < 3; epoch++) {
            Set<Long> starts = new HashSet<>();
            long shift = -1;
            for (int p = 0; p < perEpoch; p++) {
                long start = order.windowStart((long) epoch * perEpoch + p);
                assertTrue(start >= 0 && start + T + 1 <= 1000, "window " + start + " out of range");
                assertTrue(starts.add(start), "window " + start + " twice in epoch " + epoch);
                if (shift < 0) {
                    shift = start % T;
                }
                assertEquals(shift, start % T, "one grid per epoch");
            }
            assertEquals(perEpoch, starts.size());
        }
    }

    @Test
    void theOrderIsAFunctionOfTheSeedOnly() {
        SampleOrder a = new SampleOrder(tokens(5000), T, 42);
        SampleOrder b = new SampleOrder(tokens(5000), T, 42);
        SampleOrder other = new SampleOrder(tokens(5000), T, 43);
        long[] first = new long[50];
        long[] second = new long[50];
        long[] third = new long[50];
        // b is read backwards and across epochs: no hidden state may leak between calls.
        for (int i = 49; i >= 0; i--) {
            second[i] = b.windowStart(i * 37L);
            b.windowStart(10_000 + i);
        }
        for (int i = 0; i < 50; i++) {
            first[i] = a.windowStart(i * 37L);
            third[i] = other.windowStart(i * 37L);
        }
        assertArrayEquals(first, second);
        assertNotEquals(java.util.Arrays.toString(first), java.util.Arrays.toString(third));
    }

    @Test
    void fillWritesInputsAndShiftedTargets() {
        SampleOrder order = new SampleOrder(tokens(1000), T, 3);
        LongBuffer x = LongBuffer.allocate(3 * T);
        LongBuffer y = LongBuffer.allocate(3 * T);
        order.fill(5, 3, x, y);
        for (int r = 0; r < 3; r++) {
            long start = order.windowStart(5 + r);
            for (int t = 0; t < T; t++) {
                assertEquals((start + t) % 1000, x.get(r * T + t));
                assertEquals((start + t + 1) % 1000, y.get(r * T + t));
            }
        }
    }

    @Test
    void aSplitTooSmallIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SampleOrder(tokens(20), T, 1));
        assertTrue(e.getMessage().contains("too few for block_size 8"), e.getMessage());
    }
}
