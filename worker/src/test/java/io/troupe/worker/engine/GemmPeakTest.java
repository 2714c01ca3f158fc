package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** The benchmark multiplies the shapes it names and reports FLOPs over the median run's time. */
class GemmPeakTest {

    @Test
    void benchmarkModelMultipliesTheAdvertisedShapes() throws EngineException, OrtException {
        try (OrtSession session = OrtSessions.open(GemmPeak.matMulModel(), EngineOptions.cpu(1));
                TensorViews views = new TensorViews(OrtSessions.environment())) {
            // a = all ones, b[k][n] = n: every row of y is K * n.
            FloatBuffer a = DirectBuffers.floats((long) GemmPeak.M * GemmPeak.K);
            FloatBuffer b = DirectBuffers.floats((long) GemmPeak.K * GemmPeak.N);
            for (int i = 0; i < a.capacity(); i++) {
                a.put(i, 1f);
            }
            for (int i = 0; i < b.capacity(); i++) {
                b.put(i, i % GemmPeak.N);
            }
            Map<String, OnnxTensor> inputs = Map.of(
                    "a", views.floats(a, new long[] {GemmPeak.M, GemmPeak.K}),
                    "b", views.floats(b, new long[] {GemmPeak.K, GemmPeak.N}));
            try (OrtSession.Result result = session.run(inputs)) {
                OnnxTensor y = (OnnxTensor) result.get("y").orElseThrow();
                assertArrayEquals(new long[] {GemmPeak.M, GemmPeak.N}, y.getInfo().getShape());
                FloatBuffer values = y.getFloatBuffer();
                assertEquals(GemmPeak.K * 5f, values.get(5));
                assertEquals(GemmPeak.K * (GemmPeak.N - 1f), values.get(GemmPeak.M * GemmPeak.N - 1));
            }
        }
    }

    @Test
    void oneProductIsTwoFlopsPerMultiplyAdd() {
        // 768 x 768 x 3072 multiply-adds, each a multiply and an add.
        assertEquals(3_623_878_656.0, GemmPeak.FLOPS_PER_RUN);
        assertEquals(2.0 * GemmPeak.M * GemmPeak.K * GemmPeak.N, GemmPeak.FLOPS_PER_RUN);
    }

    @Test
    void reportsTheFlopsOfOneProductOverTheMedianTimedRun() throws EngineException {
        // The timed runs take 9, 2, 4, 7 and 3 ms by this clock; their median is 4 ms.
        ScriptedClock clock = new ScriptedClock(9_000_000, 2_000_000, 4_000_000, 7_000_000, 3_000_000);
        double gflops = GemmPeak.measure(1, 2, 5, clock);
        assertEquals(3_623_878_656.0 / 4_000_000, gflops, 0.0, "FLOP per ns is GFLOP/s");
        assertEquals(10, clock.reads, "read before and after each of the 5 timed runs, never around warm-ups");
    }

    @Test
    void oneTimedRunIsItsOwnMedian() throws EngineException {
        ScriptedClock clock = new ScriptedClock(1_500_000);
        assertEquals(3_623_878_656.0 / 1_500_000, GemmPeak.measure(1, 0, 1, clock), 0.0);
        assertEquals(2, clock.reads);
    }

    /** A clock whose i-th timed interval lasts durations[i] nanoseconds. */
    private static final class ScriptedClock implements LongSupplier {
        private final long[] durations;
        private long now = 1_000_000_000L;
        private int reads;

        ScriptedClock(long... durations) {
            this.durations = durations;
        }

        @Override
        public long getAsLong() {
            // Odd reads end an interval: advance by its scripted length.
            if (reads % 2 == 1) {
                now += durations[reads / 2];
            }
            reads++;
            return now;
        }
    }

    @Test
    void rejectsMeaninglessCounts() {
        assertThrows(IllegalArgumentException.class, () -> GemmPeak.measure(0));
        assertThrows(IllegalArgumentException.class, () -> GemmPeak.measure(1, -1, 3));
        assertThrows(IllegalArgumentException.class, () -> GemmPeak.measure(1, 0, 0));
    }
}
