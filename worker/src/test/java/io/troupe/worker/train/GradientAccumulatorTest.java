package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class GradientAccumulatorTest {

    @Test
    void averagesMicroSteps() {
        GradientAccumulator accumulator = new GradientAccumulator(3);
        accumulator.add(new float[] {1, 2, 3});
        accumulator.add(new float[] {3, 2, 1});
        accumulator.add(new float[] {2, 5, -1});
        assertEquals(3, accumulator.microSteps());
        assertArrayEquals(new float[] {2, 3, 1}, accumulator.mean(), 1e-6f);
        assertEquals(0, accumulator.microSteps());
    }

    @Test
    void theNextAddAfterMeanStartsANewAccumulation() {
        GradientAccumulator accumulator = new GradientAccumulator(2);
        accumulator.add(new float[] {10, 10});
        float[] first = accumulator.mean();
        accumulator.add(new float[] {1, 2});
        float[] second = accumulator.mean();
        assertSame(first, second);
        assertArrayEquals(new float[] {1, 2}, second);

        accumulator.add(new float[] {5, 5});
        accumulator.reset();
        accumulator.add(new float[] {4, 6});
        assertArrayEquals(new float[] {4, 6}, accumulator.mean());
    }

    @Test
    void readsDirectBuffersAcrossChunksWithoutMovingThem() {
        int size = 40_000; // more than two internal chunks
        FloatBuffer a = direct(size + 5).position(5);
        FloatBuffer b = direct(size);
        float[] expected = new float[size];
        for (int i = 0; i < size; i++) {
            a.put(5 + i, i);
            b.put(i, 3 * i);
            expected[i] = 2 * i;
        }
        GradientAccumulator accumulator = new GradientAccumulator(size);
        accumulator.add(a);
        accumulator.add(b);
        assertEquals(5, a.position());
        assertEquals(0, b.position());
        assertArrayEquals(expected, accumulator.mean());
    }

    @Test
    void rejectsMisuse() {
        GradientAccumulator accumulator = new GradientAccumulator(4);
        assertThrows(IllegalStateException.class, accumulator::mean);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> accumulator.add(new float[3]));
        assertEquals("gradient has 3 elements but the model has 4 parameters", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> accumulator.add(direct(5)));
    }

    private static FloatBuffer direct(int floats) {
        return ByteBuffer.allocateDirect(floats * Float.BYTES).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
    }
}
