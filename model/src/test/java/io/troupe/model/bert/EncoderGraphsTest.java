package io.troupe.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.model.graph.DType;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class EncoderGraphsTest {
    private static final EncoderConfig POST = new EncoderConfig(17, 10, 2, 2, 2, 16, 24, 0.0, false, "none", 1e-12, true);
    private static final EncoderConfig PRE = new EncoderConfig(17, 10, 2, 2, 2, 16, 24, 0.0, true, "tanh", 1e-5, true);
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    private static float[] params(EncoderConfig cfg, long seed) {
        float[] p = ParameterInit.gpt2(cfg, cfg.layout(), seed);
        Random r = new Random(seed);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.1 * r.nextGaussian());
        }
        return p;
    }

    private float[] hidden(OrtSession s, long[] ids, long[] lengths, int b, int t) throws Exception {
        Map<String, OnnxTensor> in = new HashMap<>();
        try (OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, t});
             OnnxTensor l = OnnxTensor.createTensor(env, LongBuffer.wrap(lengths), new long[] {b})) {
            in.put(EncoderGraphs.INPUT_IDS, x);
            in.put(EncoderGraphs.LENGTHS, l);
            try (OrtSession.Result r = s.run(in)) {
                FloatBuffer out = ((OnnxTensor) r.get(EncoderGraphs.HIDDEN).orElseThrow()).getFloatBuffer();
                float[] a = new float[out.remaining()];
                out.get(a);
                return a;
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void paddingNeverChangesTheOutputsAtRealPositions(boolean preLayerNorm) throws Exception {
        EncoderConfig cfg = preLayerNorm ? PRE : POST;
        int c = cfg.nEmbd();
        byte[] model = EncoderGraphs.inference(cfg, FloatBuffer.wrap(params(cfg, 5)), false).toBytes();
        long[][] examples = {{3, 1, 4, 1, 5}, {9, 2}, {6, 5, 3, 5, 8, 9, 7, 9}, {2}};
        int t = 9;
        long[] padded = new long[examples.length * t];
        long[] lengths = new long[examples.length];
        for (int b = 0; b < examples.length; b++) {
            for (int i = 0; i < t; i++) {
                // Varied, non-zero pad ids: whatever the pad is, it must not matter.
                padded[b * t + i] = i < examples[b].length ? examples[b][i] : (7 + i + b) % 17;
            }
            lengths[b] = examples[b].length;
        }
        try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions())) {
            float[] batch = hidden(s, padded, lengths, examples.length, t);
            for (int b = 0; b < examples.length; b++) {
                int n = examples[b].length;
                float[] alone = hidden(s, examples[b], new long[] {n}, 1, n);
                for (int i = 0; i < n * c; i++) {
                    assertEquals(alone[i], batch[b * t * c + i], 1e-5, "row " + b + " value " + i);
                }
            }
        }
    }

    @Test
    void attentionIsBidirectionalALaterTokenChangesAnEarlierPosition() throws Exception {
        byte[] model = EncoderGraphs.inference(POST, FloatBuffer.wrap(params(POST, 6)), false).toBytes();
        try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions())) {
            float[] a = hidden(s, new long[] {1, 2, 3}, new long[] {3}, 1, 3);
            float[] b = hidden(s, new long[] {1, 2, 4}, new long[] {3}, 1, 3);
            double diff = 0;
            for (int i = 0; i < POST.nEmbd(); i++) {                 // position 0 only
                diff += Math.abs(a[i] - b[i]);
            }
            assertTrue(diff > 1e-3, "position 0 must see position 2, diff " + diff);
        }
    }

    @Test
    void mlmEvaluationCountsMaskedPositionsAndTopOneHits() throws Exception {
        float[] p = params(POST, 7);
        int b = 2;
        int t = 4;
        long[] idx = {1, 2, 3, 4, 5, 6, 7, 8};
        // Logits of the inference graph tell which token is the top prediction at each position.
        byte[] inference = EncoderGraphs.inference(POST, FloatBuffer.wrap(p), true).toBytes();
        int[] top = new int[b * t];
        try (OrtSession s = env.createSession(inference, new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(idx), new long[] {b, t});
             OnnxTensor l = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {t, t}), new long[] {b});
             OrtSession.Result r = s.run(Map.of(EncoderGraphs.INPUT_IDS, x, EncoderGraphs.LENGTHS, l))) {
            FloatBuffer logits = ((OnnxTensor) r.get(EncoderGraphs.LOGITS).orElseThrow()).getFloatBuffer();
            for (int i = 0; i < b * t; i++) {
                int best = 0;
                for (int v = 0; v < POST.vocabSize(); v++) {
                    if (logits.get(i * POST.vocabSize() + v) > logits.get(i * POST.vocabSize() + best)) {
                        best = v;
                    }
                }
                top[i] = best;
            }
        }
        long[] targets = new long[b * t];
        java.util.Arrays.fill(targets, EncoderGraphs.IGNORE);
        targets[1] = top[1];                        // a hit
        targets[4] = (top[4] + 1) % 17;             // a miss
        targets[6] = top[6];                        // a hit
        TrainingGraph eval = EncoderGraphs.mlmEvaluation(POST, b, t, DType.FLOAT);
        Map<String, OnnxTensor> in = new HashMap<>();
        try (OrtSession s = env.createSession(eval.toBytes(), new OrtSession.SessionOptions())) {
            for (var v : POST.layout().views()) {
                float[] w = java.util.Arrays.copyOfRange(p, (int) v.offset(), (int) (v.offset() + v.length()));
                in.put(v.name(), OnnxTensor.createTensor(env, FloatBuffer.wrap(w), v.shape()));
            }
            in.put(TrainingGraph.TOKENS, OnnxTensor.createTensor(env, LongBuffer.wrap(idx), new long[] {b, t}));
            in.put(TrainingGraph.TARGETS, OnnxTensor.createTensor(env, LongBuffer.wrap(targets), new long[] {b, t}));
            try (OrtSession.Result r = s.run(in)) {
                assertEquals(2f, ((OnnxTensor) r.get(EncoderGraphs.MASKED_CORRECT).orElseThrow()).getFloatBuffer().get(0));
                assertEquals(3f, ((OnnxTensor) r.get(EncoderGraphs.MASKED_COUNT).orElseThrow()).getFloatBuffer().get(0));
                float loss = ((OnnxTensor) r.get(TrainingGraph.LOSS).orElseThrow()).getFloatBuffer().get(0);
                assertTrue(Float.isFinite(loss) && loss > 0, "loss " + loss);
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void anEncoderWithoutAnMlmHeadHasNoLogitsOrMlmGraphs() {
        EncoderConfig bare = POST.withMlmHead(false);
        assertThrows(IllegalArgumentException.class, () -> EncoderGraphs.mlmTraining(bare, 1, 4, DType.FLOAT, 0));
        assertThrows(IllegalArgumentException.class,
                () -> EncoderGraphs.inference(bare, FloatBuffer.wrap(new float[(int) bare.layout().size()]), true));
    }
}
