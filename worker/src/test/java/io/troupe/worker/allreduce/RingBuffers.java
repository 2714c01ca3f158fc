package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Random per-rank buffers and the checks of an all-reduce's result against the exact mean. */
final class RingBuffers {

    private RingBuffers() {}

    /** One direct buffer per rank, uniform in [-1, 1). */
    static List<FloatBuffer> random(int worldSize, int length, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<FloatBuffer> buffers = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            FloatBuffer buffer = ByteBuffer.allocateDirect(Float.BYTES * length).order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int i = 0; i < length; i++) {
                buffer.put(i, (float) (random.nextDouble() * 2 - 1));
            }
            buffers.add(buffer);
        }
        return buffers;
    }

    /** The exact mean, in double, of the buffers as they are now. */
    static double[] exactMean(List<FloatBuffer> buffers) {
        int length = buffers.get(0).remaining();
        double[] mean = new double[length];
        for (FloatBuffer buffer : buffers) {
            for (int i = 0; i < length; i++) {
                mean[i] += buffer.get(buffer.position() + i);
            }
        }
        for (int i = 0; i < length; i++) {
            mean[i] /= buffers.size();
        }
        return mean;
    }

    /**
     * The largest error the ring may make on inputs in [-1, 1]. fp32: N-1 additions and a scaling,
     * each off by at most half an ulp of a partial sum no larger than N. bf16: every one of the N-1
     * forwarded partial sums (the k-th at most k in size) is rounded once, off by 2^-8 of it, before
     * the division by N; the mean is rounded once more.
     */
    static double tolerance(WireFormat wire, int worldSize) {
        if (wire == WireFormat.FP32) {
            return worldSize * 0x1p-23;
        }
        double hops = 0;
        for (int k = 1; k < worldSize; k++) {
            hops += k;
        }
        return Bf16.UNIT_ROUNDOFF * (hops / worldSize + 1) + worldSize * 0x1p-23;
    }

    /** Checks every rank against the exact mean and that all ranks hold bit-identical values. */
    static void assertMean(List<FloatBuffer> buffers, double[] expected, WireFormat wire, String what) {
        double tolerance = tolerance(wire, buffers.size());
        FloatBuffer first = buffers.get(0);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            float value = first.get(first.position() + i);
            worst = Math.max(worst, Math.abs(value - expected[i]));
            for (FloatBuffer other : buffers) {
                if (Float.floatToRawIntBits(other.get(other.position() + i)) != Float.floatToRawIntBits(value)) {
                    assertEquals(value, other.get(other.position() + i), what + ": ranks differ at element " + i);
                }
            }
        }
        assertTrue(worst <= tolerance, what + ": largest error " + worst + " exceeds " + tolerance);
    }
}
