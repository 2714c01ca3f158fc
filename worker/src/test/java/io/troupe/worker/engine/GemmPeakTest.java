package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;

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
    void measuresAPlausibleRate() throws EngineException {
        double gflops = GemmPeak.measure(1, 1, 3);
        // Any CPU that runs the tests manages more than 0.1 GFLOP/s; no core exceeds 10 TFLOP/s in fp32.
        assertTrue(gflops > 0.1 && gflops < 10_000, "GFLOP/s = " + gflops);
    }

    @Test
    void rejectsMeaninglessCounts() {
        assertThrows(IllegalArgumentException.class, () -> GemmPeak.measure(0));
        assertThrows(IllegalArgumentException.class, () -> GemmPeak.measure(1, -1, 3));
        assertThrows(IllegalArgumentException.class, () -> GemmPeak.measure(1, 0, 0));
    }
}
