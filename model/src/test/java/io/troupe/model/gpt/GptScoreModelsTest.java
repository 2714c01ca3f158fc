package io.troupe.model.gpt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.explain.ExplainGraphs;
import io.troupe.model.explain.ScoreModel;
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
 * The explanation graphs of GPTs: their gradient with respect to the input embeddings agrees with
 * central differences (in double), their score is the inference graph's logit or log-probability,
 * and their attention outputs are causal distributions.
 */
class GptScoreModelsTest {
    private static final GptConfig TINY = new GptConfig(11, 8, 2, 2, 16, 0.0, true, true);
    private static final int K = 3;
    private static final int T = 5;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    private static float[] noisy(float[] p, long seed) {
        Random r = new Random(seed);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.1 * r.nextGaussian());
        }
        return p;
    }

    private static float[] classifierParams(ClassifierHead head) {
        return noisy(ParameterInit.gpt2(TINY, ClassifierGraphs.layout(TINY, head), 3), 4);
    }

    private static float[] lmParams() {
        return noisy(ParameterInit.gpt2(TINY, ParameterLayout.of(TINY), 5), 6);
    }

    private static double[] randomEmbeddings(int rows, long seed) {
        Random r = new Random(seed);
        double[] x = new double[rows * T * TINY.nEmbd()];
        for (int i = 0; i < x.length; i++) {
            x[i] = 0.5 * r.nextGaussian();
        }
        return x;
    }

    /** Runs a double-precision explanation graph; returns score then gradient (if present). */
    private double[][] run(OrtSession s, double[] x, int rows, Map<String, long[][]> extra) throws Exception {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feeds.put(ExplainGraphs.EMBEDDINGS, OnnxTensor.createTensor(env, DoubleBuffer.wrap(x),
                    new long[] {rows, T, TINY.nEmbd()}));
            for (Map.Entry<String, long[][]> e : extra.entrySet()) {
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, LongBuffer.wrap(e.getValue()[0]), e.getValue()[1]));
            }
            try (OrtSession.Result result = s.run(feeds)) {
                double[] score = doubles(result.get(ExplainGraphs.SCORE).orElseThrow());
                double[] grad = result.get(ExplainGraphs.EMBEDDINGS_GRAD).map(GptScoreModelsTest::doubles).orElse(null);
                return new double[][] {score, grad};
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static double[] doubles(ai.onnxruntime.OnnxValue v) {
        DoubleBuffer b = ((OnnxTensor) v).getDoubleBuffer();
        double[] out = new double[b.remaining()];
        b.get(out);
        return out;
    }

    private void assertGradientMatchesCentralDifferences(ScoreModel model, Map<String, long[][]> extra) throws Exception {
        try (OrtSession s = env.createSession(ExplainGraphs.gradient(model).toBytes(), new OrtSession.SessionOptions())) {
            double[] x = randomEmbeddings(1, 11);
            double[] grad = run(s, x, 1, extra)[1];
            double h = 1e-5;
            double worst = 0;
            double largest = 0;
            for (int i = 0; i < x.length; i++) {
                double keep = x[i];
                x[i] = keep + h;
                double up = run(s, x, 1, extra)[0][0];
                x[i] = keep - h;
                double down = run(s, x, 1, extra)[0][0];
                x[i] = keep;
                double numeric = (up - down) / (2 * h);
                worst = Math.max(worst, Math.abs(numeric - grad[i]));
                largest = Math.max(largest, Math.abs(numeric));
            }
            assertTrue(largest > 1e-3, "the score depends on the embeddings");
            assertTrue(worst < 1e-7 * Math.max(1, largest), "worst |analytic - central difference| = " + worst);
        }
    }

    @ParameterizedTest
    @EnumSource(Pooling.class)
    void theClassLogitsGradientAgreesWithCentralDifferences(Pooling pooling) throws Exception {
        ClassifierHead head = new ClassifierHead(K, pooling);
        ScoreModel model = GptScoreModels.classifier(TINY, head, classifierParams(head), DType.DOUBLE);
        assertGradientMatchesCentralDifferences(model, Map.of(
                ClassifierGraphs.LENGTHS, new long[][] {{T - 1}, {1}},   // one padded position
                GptScoreModels.TARGET_CLASS, new long[][] {{2}, {1}}));
    }

    @Test
    void aContinuationsLogProbabilityGradientAgreesWithCentralDifferences() throws Exception {
        ScoreModel model = GptScoreModels.languageModel(TINY, lmParams(), DType.DOUBLE);
        assertGradientMatchesCentralDifferences(model, Map.of(
                GptScoreModels.TARGET_POSITIONS, new long[][] {{2, 3, 4}, {3}},
                GptScoreModels.TARGET_IDS, new long[][] {{7, 1, 9}, {3}}));
    }

    @Test
    void theClassifierScoreIsTheInferenceGraphsLogitOfTheTargetClass() throws Exception {
        ClassifierHead head = new ClassifierHead(K, Pooling.MEAN);
        float[] p = classifierParams(head);
        long[] ids = {3, 1, 4, 1, 5};
        float[] logits;
        try (OrtSession s = env.createSession(ClassifierGraphs.inference(TINY, head, FloatBuffer.wrap(p)).toBytes(),
                new OrtSession.SessionOptions());
             OnnxTensor idT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, T});
             OnnxTensor lenT = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {T}), new long[] {1});
             OrtSession.Result r = s.run(Map.of(GptGraphs.INPUT_IDS, idT, ClassifierGraphs.LENGTHS, lenT))) {
            FloatBuffer b = ((OnnxTensor) r.get(ClassifierGraphs.CLASS_LOGITS).orElseThrow()).getFloatBuffer();
            logits = new float[b.remaining()];
            b.get(logits);
        }
        ScoreModel model = GptScoreModels.classifier(TINY, head, p, DType.DOUBLE);
        try (OrtSession s = env.createSession(ExplainGraphs.gradient(model).toBytes(), new OrtSession.SessionOptions())) {
            double[] x = embed(p, ids);
            for (int k = 0; k < K; k++) {
                double score = run(s, x, 1, Map.of(ClassifierGraphs.LENGTHS, new long[][] {{T}, {1}},
                        GptScoreModels.TARGET_CLASS, new long[][] {{k}, {1}}))[0][0];
                assertEquals(logits[k], score, 1e-4, "class " + k);
            }
        }
    }

    @Test
    void theLanguageModelScoreIsTheLogSoftmaxOfTheInferenceLogits() throws Exception {
        float[] p = lmParams();
        long[] ids = {3, 1, 4, 1, 5};
        float[] logits;
        try (OrtSession s = env.createSession(GptGraphs.inference(TINY, FloatBuffer.wrap(p)).toBytes(),
                new OrtSession.SessionOptions());
             OnnxTensor idT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, T});
             OrtSession.Result r = s.run(Map.of(GptGraphs.INPUT_IDS, idT))) {
            FloatBuffer b = ((OnnxTensor) r.get(GptGraphs.LOGITS).orElseThrow()).getFloatBuffer();
            logits = new float[b.remaining()];
            b.get(logits);
        }
        int v = TINY.vocabSize();
        double expected = 0;
        int[][] targets = {{1, 8}, {4, 2}};   // (position, next id)
        for (int[] target : targets) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) {
                max = Math.max(max, logits[target[0] * v + j]);
            }
            double sum = 0;
            for (int j = 0; j < v; j++) {
                sum += Math.exp(logits[target[0] * v + j] - max);
            }
            expected += logits[target[0] * v + target[1]] - max - Math.log(sum);
        }
        ScoreModel model = GptScoreModels.languageModel(TINY, p, DType.DOUBLE);
        try (OrtSession s = env.createSession(ExplainGraphs.gradient(model).toBytes(), new OrtSession.SessionOptions())) {
            double score = run(s, embed(p, ids), 1, Map.of(GptScoreModels.TARGET_POSITIONS, new long[][] {{1, 4}, {2}},
                    GptScoreModels.TARGET_IDS, new long[][] {{8, 2}, {2}}))[0][0];
            assertEquals(expected, score, 1e-4);
        }
    }

    @Test
    void theAttentionGraphGivesEachLayersCausalRowDistributions() throws Exception {
        ScoreModel model = GptScoreModels.languageModel(TINY, lmParams(), DType.DOUBLE);
        try (OrtSession s = env.createSession(ExplainGraphs.attention(model).toBytes(), new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, DoubleBuffer.wrap(randomEmbeddings(1, 2)),
                     new long[] {1, T, TINY.nEmbd()});
             OnnxTensor pos = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {T - 1}), new long[] {1});
             OnnxTensor id = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {3}), new long[] {1});
             OrtSession.Result r = s.run(Map.of(ExplainGraphs.EMBEDDINGS, x, GptScoreModels.TARGET_POSITIONS, pos,
                     GptScoreModels.TARGET_IDS, id))) {
            for (int layer = 0; layer < TINY.nLayer(); layer++) {
                double[] a = doubles(r.get(ExplainGraphs.ATTENTION_PREFIX + layer).orElseThrow());
                assertEquals(TINY.nHead() * T * T, a.length);
                for (int row = 0; row < TINY.nHead() * T; row++) {
                    double sum = 0;
                    for (int j = 0; j < T; j++) {
                        double w = a[row * T + j];
                        if (j > row % T) {
                            assertEquals(0, w, 0, "no attention to later positions");
                        }
                        sum += w;
                    }
                    assertEquals(1, sum, 1e-9);
                }
            }
        }
    }

    /** Rows of wte (the start of the parameters) for {@code ids}, as the explanation's input. */
    private static double[] embed(float[] p, long[] ids) {
        int c = TINY.nEmbd();
        double[] x = new double[ids.length * c];
        for (int t = 0; t < ids.length; t++) {
            for (int j = 0; j < c; j++) {
                x[t * c + j] = p[(int) ids[t] * c + j];
            }
        }
        return x;
    }
}
