package io.troupe.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.explain.ExplainGraphs;
import io.troupe.model.explain.ScoreModel;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.GptScoreModels;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.graph.DType;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The explanation graph of an encoder classifier: its gradient with respect to the token
 * embeddings agrees with central differences in double (post- and pre-LayerNorm, every pooling,
 * a padded position), its score is the exported inference graph's logit, and its attention rows
 * are distributions over the real keys only.
 */
class EncoderScoreModelsTest {
    /** tanh GELU: ONNX Runtime has no double Erf. */
    private static final EncoderConfig POST = new EncoderConfig(13, 8, 2, 2, 2, 8, 12, 0.0, false, "tanh", 1e-5, false);
    private static final EncoderConfig PRE = new EncoderConfig(13, 8, 2, 2, 2, 8, 12, 0.0, true, "tanh", 1e-5, false);
    private static final int K = 3;
    private static final int T = 5;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    private static float[] params(EncoderConfig cfg, ClassifierHead head) {
        float[] p = ParameterInit.gpt2(cfg, ClassifierGraphs.layout(cfg, head), 3);
        Random r = new Random(4);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.1 * r.nextGaussian());    // LayerNorm gains and biases away from 1 and 0 too
        }
        return p;
    }

    private double[][] run(OrtSession s, double[] x, int c, long length, long target) throws Exception {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feeds.put(ExplainGraphs.EMBEDDINGS, OnnxTensor.createTensor(env, DoubleBuffer.wrap(x), new long[] {1, T, c}));
            feeds.put(ClassifierGraphs.LENGTHS, OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {length}),
                    new long[] {1}));
            feeds.put(GptScoreModels.TARGET_CLASS, OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {target}),
                    new long[] {1}));
            try (OrtSession.Result result = s.run(feeds)) {
                double[] grad = result.get(ExplainGraphs.EMBEDDINGS_GRAD).map(EncoderScoreModelsTest::doubles).orElse(null);
                return new double[][] {doubles(result.get(ExplainGraphs.SCORE).orElseThrow()), grad};
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static double[] doubles(OnnxValue v) {
        DoubleBuffer b = ((OnnxTensor) v).getDoubleBuffer();
        double[] out = new double[b.remaining()];
        b.get(out);
        return out;
    }

    @ParameterizedTest
    @EnumSource(Pooling.class)
    void theClassLogitsGradientAgreesWithCentralDifferencesPostAndPreLayerNorm(Pooling pooling) throws Exception {
        for (EncoderConfig cfg : new EncoderConfig[] {POST, PRE}) {
            ClassifierHead head = new ClassifierHead(K, pooling);
            ScoreModel model = EncoderScoreModels.classifier(cfg, head, params(cfg, head), DType.DOUBLE);
            try (OrtSession s = env.createSession(ExplainGraphs.gradient(model).toBytes(), new OrtSession.SessionOptions())) {
                Random r = new Random(11);
                double[] x = new double[T * cfg.nEmbd()];
                for (int i = 0; i < x.length; i++) {
                    x[i] = 0.5 * r.nextGaussian();
                }
                double[] grad = run(s, x, cfg.nEmbd(), T - 1, 2)[1];    // one padded position
                double h = 1e-5;
                double worst = 0;
                double largest = 0;
                for (int i = 0; i < x.length; i++) {
                    double keep = x[i];
                    x[i] = keep + h;
                    double up = run(s, x, cfg.nEmbd(), T - 1, 2)[0][0];
                    x[i] = keep - h;
                    double down = run(s, x, cfg.nEmbd(), T - 1, 2)[0][0];
                    x[i] = keep;
                    double numeric = (up - down) / (2 * h);
                    worst = Math.max(worst, Math.abs(numeric - grad[i]));
                    largest = Math.max(largest, Math.abs(numeric));
                    if (i >= (T - 1) * cfg.nEmbd()) {
                        assertEquals(0, grad[i], 0, "the padded position never reaches the score");
                    }
                }
                assertTrue(largest > 1e-3, "the score depends on the embeddings");
                assertTrue(worst < 1e-7 * Math.max(1, largest), pooling + " pre-LN " + cfg.preLayerNorm()
                        + ": worst |analytic - central difference| = " + worst);
            }
        }
    }

    @Test
    void theScoreIsTheInferenceGraphsLogitOfTheTargetClassAndAttentionReadsRealKeysOnly() throws Exception {
        ClassifierHead head = new ClassifierHead(K, Pooling.MEAN);
        float[] p = params(POST, head);
        long[] ids = {3, 1, 4, 1, 5};
        long length = 4;
        float[] logits;
        try (OrtSession s = env.createSession(ClassifierGraphs.inference(POST, head, FloatBuffer.wrap(p)).toBytes(),
                new OrtSession.SessionOptions());
             OnnxTensor idT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, T});
             OnnxTensor lenT = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {length}), new long[] {1});
             OrtSession.Result r = s.run(Map.of(GptGraphs.INPUT_IDS, idT, ClassifierGraphs.LENGTHS, lenT))) {
            FloatBuffer b = ((OnnxTensor) r.get(ClassifierGraphs.CLASS_LOGITS).orElseThrow()).getFloatBuffer();
            logits = new float[b.remaining()];
            b.get(logits);
        }
        int c = POST.nEmbd();
        double[] x = new double[T * c];
        for (int t = 0; t < T; t++) {
            for (int j = 0; j < c; j++) {
                x[t * c + j] = p[(int) ids[t] * c + j];    // wte is the first parameter: [V, C]
            }
        }
        ScoreModel model = EncoderScoreModels.classifier(POST, head, p, DType.DOUBLE);
        try (OrtSession s = env.createSession(ExplainGraphs.gradient(model).toBytes(), new OrtSession.SessionOptions())) {
            for (int k = 0; k < K; k++) {
                assertEquals(logits[k], run(s, x, c, length, k)[0][0], 1e-4, "class " + k);
            }
        }
        try (OrtSession s = env.createSession(ExplainGraphs.attention(model).toBytes(), new OrtSession.SessionOptions());
             OnnxTensor xT = OnnxTensor.createTensor(env, DoubleBuffer.wrap(x), new long[] {1, T, c});
             OnnxTensor lenT = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {length}), new long[] {1});
             OnnxTensor target = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {0}), new long[] {1});
             OrtSession.Result r = s.run(Map.of(ExplainGraphs.EMBEDDINGS, xT, ClassifierGraphs.LENGTHS, lenT,
                     GptScoreModels.TARGET_CLASS, target))) {
            for (int layer = 0; layer < POST.nLayer(); layer++) {
                double[] a = doubles(r.get(ExplainGraphs.ATTENTION_PREFIX + layer).orElseThrow());
                assertEquals(POST.nHead() * T * T, a.length);
                boolean later = false;
                for (int row = 0; row < POST.nHead() * T; row++) {
                    double sum = 0;
                    for (int j = 0; j < T; j++) {
                        double w = a[row * T + j];
                        if (j >= length) {
                            assertEquals(0, w, 0, "no attention to the padded key");
                        }
                        later |= row % T == 0 && j > 0 && w > 0;
                        sum += w;
                    }
                    assertEquals(1, sum, 1e-9);
                }
                assertTrue(later, "bidirectional: position 0 reads later keys");
            }
        }
    }
}
