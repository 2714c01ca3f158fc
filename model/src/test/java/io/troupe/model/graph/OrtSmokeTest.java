package io.troupe.model.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A built graph with its backward pass loads and runs in ONNX Runtime and gives the known gradient. */
class OrtSmokeTest {

    @Test
    void gradientOfSumOfSquaredProductRunsInOrt() throws Exception {
        Graph g = new Graph("smoke");
        Tensor x = g.input("x", DType.FLOAT, Shape.of(2, 3));
        Tensor w = g.input("w", DType.FLOAT, Shape.of(3, 2));
        // loss = sum((x @ w)^2)  =>  dL/dw = x^T (2 x w)
        Tensor y = x.matMul(w);
        Tensor loss = y.mul(y).reduceSum(false);
        Tensor gw = Autodiff.gradients(loss, List.of(w)).get(0);
        g.output("loss", loss);
        g.output("grad.w", gw);

        float[][] xv = {{1, 2, 3}, {4, 5, 6}};
        float[][] wv = {{1, 0}, {0, 1}, {1, 1}};
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(g.toBytes(), new OrtSession.SessionOptions());
             OnnxTensor xt = OnnxTensor.createTensor(env, xv);
             OnnxTensor wt = OnnxTensor.createTensor(env, wv);
             OrtSession.Result r = session.run(Map.of("x", xt, "w", wt))) {
            float lossValue = (float) ((OnnxTensor) r.get("loss").get()).getValue();
            float[][] grad = (float[][]) ((OnnxTensor) r.get("grad.w").get()).getValue();
            double[][] yv = new double[2][2];
            double expectedLoss = 0;
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    for (int k = 0; k < 3; k++) {
                        yv[i][j] += xv[i][k] * wv[k][j];
                    }
                    expectedLoss += yv[i][j] * yv[i][j];
                }
            }
            assertEquals(expectedLoss, lossValue, 1e-3);
            for (int k = 0; k < 3; k++) {
                for (int j = 0; j < 2; j++) {
                    double expected = 0;
                    for (int i = 0; i < 2; i++) {
                        expected += xv[i][k] * 2 * yv[i][j];
                    }
                    assertEquals(expected, grad[k][j], 1e-3, "dL/dw[" + k + "][" + j + "]");
                }
            }
        }
    }
}
