package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.corpus.TokenSequence;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BatchSamplerTest {

    private static final int B = 4;
    private static final int T = 8;

    @Test
    void windowsAreConsecutiveTokensAndTargetsAreShiftedByOne() {
        // Token i has id i, so a window's first input token is its offset.
        BatchSampler sampler = new BatchSampler(identity(1000), B, T, 42);
        long[] x = new long[B * T];
        long[] y = new long[B * T];
        sampler.next(x, y);
        long[] offsets = new long[B];
        for (int b = 0; b < B; b++) {
            offsets[b] = x[b * T];
            for (int t = 0; t < T; t++) {
                assertEquals(offsets[b] + t, x[b * T + t]);
                assertEquals(offsets[b] + t + 1, y[b * T + t]);
            }
        }
        // Pinned: changing the generator or the draw would break resuming old checkpoints.
        assertArrayEquals(new long[] {75, 511, 528, 240}, offsets);
    }

    @Test
    void offsetsCoverExactlyZeroToNMinusTMinusOne() {
        int n = T + 3; // window starts 0, 1, 2
        BatchSampler sampler = new BatchSampler(identity(n), B, T, 1);
        long[] x = new long[B * T];
        long[] y = new long[B * T];
        boolean[] seen = new boolean[3];
        for (int i = 0; i < 200; i++) {
            sampler.next(x, y);
            for (int b = 0; b < B; b++) {
                long offset = x[b * T];
                assertTrue(offset >= 0 && offset <= n - T - 1, "offset " + offset);
                assertEquals(offset + T, y[b * T + T - 1]);
                seen[(int) offset] = true;
            }
        }
        assertArrayEquals(new boolean[] {true, true, true}, seen);
    }

    @Test
    void sameSeedSameBatches() {
        long[][] first = draw(new BatchSampler(identity(5000), B, T, 9), 20);
        long[][] second = draw(new BatchSampler(identity(5000), B, T, 9), 20);
        long[][] other = draw(new BatchSampler(identity(5000), B, T, 10), 20);
        assertTrue(Arrays.deepEquals(first, second));
        assertFalse(Arrays.deepEquals(first, other));
    }

    @Test
    void restoringTheStateMidStreamContinuesIdentically() {
        BatchSampler sampler = new BatchSampler(identity(5000), B, T, 9);
        draw(sampler, 7);
        long[] state = sampler.state();
        long[][] continuation = draw(sampler, 10);

        BatchSampler resumed = new BatchSampler(identity(5000), B, T, 12345);
        resumed.restore(state);
        assertTrue(Arrays.deepEquals(continuation, draw(resumed, 10)));
    }

    @Test
    void fillsDirectLongBuffersLikeArraysWithoutMovingThem() {
        BatchSampler arrays = new BatchSampler(identity(3000), B, T, 5);
        BatchSampler buffers = new BatchSampler(identity(3000), B, T, 5);
        long[] x = new long[B * T];
        long[] y = new long[B * T];
        LongBuffer bx = direct(B * T + 3).position(3);
        LongBuffer by = direct(B * T);
        for (int i = 0; i < 5; i++) {
            arrays.next(x, y);
            buffers.next(bx, by);
            assertEquals(3, bx.position());
            assertEquals(0, by.position());
            long[] gotX = new long[B * T];
            long[] gotY = new long[B * T];
            bx.get(3, gotX);
            by.get(0, gotY);
            assertArrayEquals(x, gotX);
            assertArrayEquals(y, gotY);
        }
    }

    @Test
    void rejectsWrongSizesAndShortSplits() {
        BatchSampler sampler = new BatchSampler(identity(100), B, T, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> sampler.next(new long[B * T - 1], new long[B * T]));
        assertEquals("x has 31 elements; a batch needs batch_size * block_size = 4 * 8 = 32",
                e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> sampler.next(direct(B * T), direct(B * T + 1)));
        IllegalArgumentException shortSplit = assertThrows(IllegalArgumentException.class,
                () -> new BatchSampler(identity(T), B, T, 1));
        assertTrue(shortSplit.getMessage().contains("at least 9 tokens"), shortSplit.getMessage());
        new BatchSampler(identity(T + 1), B, T, 1).next(new long[B * T], new long[B * T]);
        assertThrows(IllegalArgumentException.class, () -> new BatchSampler(identity(100), 0, T, 1));
    }

    private static long[][] draw(BatchSampler sampler, int batches) {
        long[][] out = new long[2 * batches][];
        for (int i = 0; i < batches; i++) {
            out[2 * i] = new long[B * T];
            out[2 * i + 1] = new long[B * T];
            sampler.next(out[2 * i], out[2 * i + 1]);
        }
        return out;
    }

    private static TokenSequence identity(int n) {
        return TokenSequence.of(IntStream.range(0, n).toArray(), n);
    }

    private static LongBuffer direct(int longs) {
        return ByteBuffer.allocateDirect(longs * Long.BYTES).order(ByteOrder.nativeOrder())
                .asLongBuffer();
    }
}
