package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import java.nio.DoubleBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The assumption behind the Dropout case: ORT's Dropout draws its mask from a generator seeded
 * by the node's seed attribute when the session is created and advanced by every run. So a
 * fresh session's first run always draws the same mask, and a reused session does not.
 */
class DropoutDeterminismTest {
    private static final int N = 256;

    private static byte[] dropoutModel() {
        Graph g = new Graph("dropout");
        Tensor x = g.input("x", DType.DOUBLE, Shape.of(N));
        g.output("y", x.dropout(0.3, 7));
        return g.toBytes();
    }

    private static double[] run(OrtSession session) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double[] ones = new double[N];
        Arrays.fill(ones, 1.0);
        try (OnnxTensor x = OnnxTensor.createTensor(env, DoubleBuffer.wrap(ones), new long[] {N});
             OrtSession.Result r = session.run(Map.of("x", x))) {
            DoubleBuffer y = ((OnnxTensor) r.get("y").orElseThrow()).getDoubleBuffer();
            double[] out = new double[y.remaining()];
            y.get(out);
            return out;
        }
    }

    @Test
    void aFreshSessionDrawsTheSameMaskAndAReusedOneDoesNot() throws Exception {
        byte[] model = dropoutModel();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double[] first;
        double[] second;
        double[] again;
        try (OrtSession s = env.createSession(model)) {
            first = run(s);
            second = run(s);
        }
        try (OrtSession s = env.createSession(model)) {
            again = run(s);
        }
        long dropped = Arrays.stream(first).filter(v -> v == 0).count();
        assertTrue(dropped > N * 0.15 && dropped < N * 0.45, "about 30% dropped, got " + dropped + "/" + N);
        assertArrayEquals(first, again, "a fresh session's first run repeats the mask");
        assertFalse(Arrays.equals(first, second), "a reused session draws a new mask");
    }

    @Test
    void theDropoutCaseFailsWithoutFreshSessions() {
        OpCase dropout = OpCases.of("Dropout").get(0);
        assertTrue(dropout.freshSessionPerRun());
        OpCase reused = new OpCase(dropout.opType(), dropout.name(), dropout.precisions(), false, dropout.body());
        CaseResult result = new GradientChecker().check(reused);
        assertFalse(result.passed(), "a new mask per evaluation must break the finite differences: "
                + result.describe());
        assertTrue(new GradientChecker().check(dropout).passed());
        assertTrue(List.of(DType.DOUBLE, DType.FLOAT).contains(result.precision()));
    }
}
