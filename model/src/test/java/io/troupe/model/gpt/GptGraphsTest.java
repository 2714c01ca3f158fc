package io.troupe.model.gpt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.graph.DType;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GptGraphsTest {
    private static final GptConfig TINY = new GptConfig(11, 8, 2, 2, 16, 0.0, false, true);
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    @Test
    void layoutMatchesNanoGptParameterCountForTheSmallConfig() {
        GptConfig small = new GptConfig(65, 64, 4, 4, 128, 0.0, false, true);
        // nanoGPT prints "number of parameters: 0.80M" (position embeddings excluded).
        assertEquals(795_904, ParameterLayout.of(small).sizeWithoutPositions());
        assertEquals("h.0.attn.c_attn.weight", ParameterLayout.of(small).views().get(3).name());
    }

    @Test
    void initialLossIsNearUniformAndEvalMatchesInferenceLogits() throws Exception {
        ParameterLayout layout = ParameterLayout.of(TINY);
        float[] params = ParameterInit.gpt2(TINY, layout, 7);
        int b = 2;
        int t = 8;
        long[] idx = new long[b * t];
        long[] targets = new long[b * t];
        Random r = new Random(1);
        for (int i = 0; i < idx.length; i++) {
            idx[i] = r.nextInt(11);
            targets[i] = r.nextInt(11);
        }
        TrainingGraph train = GptGraphs.training(TINY, b, t, DType.FLOAT);
        TrainingGraph eval = GptGraphs.evaluation(TINY, b, t, DType.FLOAT);
        float trainLoss = run(train, layout, params, idx, targets).get("loss")[0];
        float evalLoss = run(eval, layout, params, idx, targets).get("loss")[0];
        assertEquals(Math.log(11), trainLoss, 0.1, "initial loss should be close to ln(V)");
        assertEquals(trainLoss, evalLoss, 1e-6);

        byte[] inference = GptGraphs.inference(TINY, FloatBuffer.wrap(params)).toBytes();
        try (OrtSession s = env.createSession(inference, new OrtSession.SessionOptions());
             OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(idx), new long[] {b, t});
             OrtSession.Result res = s.run(Map.of(GptGraphs.INPUT_IDS, ids))) {
            float[] logits = ((OnnxTensor) res.get(GptGraphs.LOGITS).get()).getFloatBuffer().array();
            double loss = 0;
            for (int row = 0; row < b * t; row++) {
                float[] l = Arrays.copyOfRange(logits, row * 11, row * 11 + 11);
                double max = Double.NEGATIVE_INFINITY;
                for (float x : l) {
                    max = Math.max(max, x);
                }
                double sum = 0;
                for (float x : l) {
                    sum += Math.exp(x - max);
                }
                loss += -(l[(int) targets[row]] - max - Math.log(sum));
            }
            assertEquals(evalLoss, loss / (b * t), 1e-4, "inference logits give the evaluation loss");
        }
        // A shorter prompt also runs in the inference graph (symbolic seq).
        try (OrtSession s = env.createSession(inference, new OrtSession.SessionOptions());
             OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {1, 2, 3}), new long[] {1, 3});
             OrtSession.Result res = s.run(Map.of(GptGraphs.INPUT_IDS, ids))) {
            long[] shape = ((OnnxTensor) res.get(GptGraphs.LOGITS).get()).getInfo().getShape();
            assertTrue(Arrays.equals(new long[] {1, 3, 11}, shape), Arrays.toString(shape));
        }
    }

    private Map<String, float[]> run(TrainingGraph g, ParameterLayout layout, float[] params, long[] idx,
                                     long[] targets) throws Exception {
        Map<String, OnnxTensor> in = new HashMap<>();
        try (OrtSession s = env.createSession(g.toBytes(), new OrtSession.SessionOptions())) {
            for (ParameterLayout.View v : layout.views()) {
                in.put(v.name(), OnnxTensor.createTensor(env,
                        FloatBuffer.wrap(params, (int) v.offset(), (int) v.length()).slice(), v.shape()));
            }
            in.put("idx", OnnxTensor.createTensor(env, LongBuffer.wrap(idx), new long[] {g.batch(), g.seqLen()}));
            in.put("targets", OnnxTensor.createTensor(env, LongBuffer.wrap(targets), new long[] {g.batch(), g.seqLen()}));
            try (OrtSession.Result r = s.run(in)) {
                Map<String, float[]> out = new HashMap<>();
                for (Map.Entry<String, OnnxValue> e : r) {
                    OnnxTensor t = (OnnxTensor) e.getValue();
                    float[] values = new float[(int) t.getInfo().getNumElements()];
                    t.getFloatBuffer().get(values);
                    out.put(e.getKey(), values);
                }
                return out;
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }
}
