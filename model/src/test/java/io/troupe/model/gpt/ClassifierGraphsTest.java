package io.troupe.model.gpt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.graph.DType;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ClassifierGraphsTest {
    private static final GptConfig TINY = new GptConfig(11, 8, 2, 2, 16, 0.0, true, true);
    private static final int K = 3;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    /** GPT-2 init plus noise, so that every position's hidden state differs visibly. */
    private static float[] params(ClassifierHead head, long seed) {
        ParameterLayout layout = ClassifierGraphs.layout(TINY, head);
        float[] p = ParameterInit.gpt2(TINY, layout, seed);
        Random r = new Random(seed);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.1 * r.nextGaussian());
        }
        return p;
    }

    @ParameterizedTest
    @EnumSource(value = Pooling.class, names = {"LAST", "MEAN"}) // cls is refused for a causal GPT
    void aPaddedBatchGivesTheLogitsOfEachExampleAloneUnpadded(Pooling pooling) throws Exception {
        ClassifierHead head = new ClassifierHead(K, pooling);
        float[] p = params(head, 5);
        byte[] model = ClassifierGraphs.inference(TINY, head, FloatBuffer.wrap(p)).toBytes();
        long[][] examples = {{3, 1, 4, 1, 5}, {9, 2}, {6, 5, 3, 5, 8, 9, 7, 9}, {2}};
        int t = 8;
        long[] padded = new long[examples.length * t];
        long[] lengths = new long[examples.length];
        for (int b = 0; b < examples.length; b++) {
            for (int i = 0; i < t; i++) {
                // Padding with varied, non-zero ids: whatever the pad is, it must not matter.
                padded[b * t + i] = i < examples[b].length ? examples[b][i] : (7 + i + b) % 11;
            }
            lengths[b] = examples[b].length;
        }
        try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions())) {
            float[] batch = logits(s, padded, lengths, examples.length, t);
            for (int b = 0; b < examples.length; b++) {
                float[] alone = logits(s, examples[b], new long[] {examples[b].length}, 1, examples[b].length);
                for (int k = 0; k < K; k++) {
                    assertEquals(alone[k], batch[b * K + k], 1e-5, "example " + b + " class " + k);
                }
            }
            // The head reads the pooled representation: another length gives other logits.
            long[] shorter = lengths.clone();
            shorter[0] = 4;
            float[] changed = logits(s, padded, shorter, examples.length, t);
            assertTrue(Math.abs(changed[0] - batch[0]) > 1e-4, "the length decides which positions are pooled");
        }
    }

    @Test
    void theEvaluationGraphOfAFrozenBodyAgreesWithTheInferenceGraphAndItsLossIsTheCrossEntropy() throws Exception {
        ClassifierHead head = new ClassifierHead(K, Pooling.LAST);
        float[] p = params(head, 9);
        ParameterLayout layout = ClassifierGraphs.layout(TINY, head);
        Trainable probe = new TrainingScope(false, 0, true).select(TINY, layout);
        assertEquals(Set.of("cls.weight", "cls.bias"), probe.names());
        int t = 6;
        long[] ids = {1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10};
        long[] lengths = {4, 6};
        long[] labels = {2, 0};
        byte[] eval = ClassifierGraphs.evaluation(TINY, head, t, DType.FLOAT, probe, p, null).toBytes();
        float[] expected;
        try (OrtSession s = env.createSession(ClassifierGraphs.inference(TINY, head, FloatBuffer.wrap(p)).toBytes(),
                new OrtSession.SessionOptions())) {
            expected = logits(s, ids, lengths, 2, t);
        }
        float[] trainableValues = probe.extract(p);
        try (OrtSession s = env.createSession(eval, new OrtSession.SessionOptions())) {
            Map<String, OnnxTensor> in = new HashMap<>();
            for (ParameterLayout.View v : probe.layout().views()) {
                float[] values = java.util.Arrays.copyOfRange(trainableValues, (int) v.offset(),
                        (int) (v.offset() + v.length()));
                in.put(v.name(), OnnxTensor.createTensor(env, FloatBuffer.wrap(values), v.shape()));
            }
            in.put(TrainingGraph.TOKENS, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {2, t}));
            in.put(ClassifierGraphs.LENGTHS, OnnxTensor.createTensor(env, LongBuffer.wrap(lengths), new long[] {2}));
            in.put(ClassifierGraphs.LABELS, OnnxTensor.createTensor(env, LongBuffer.wrap(labels), new long[] {2}));
            try (OrtSession.Result r = s.run(in)) {
                float[] got = ((OnnxTensor) r.get(ClassifierGraphs.CLASS_LOGITS).get()).getFloatBuffer().array();
                double ce = 0;
                for (int b = 0; b < 2; b++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int k = 0; k < K; k++) {
                        assertEquals(expected[b * K + k], got[b * K + k], 1e-5);
                        max = Math.max(max, got[b * K + k]);
                    }
                    double sum = 0;
                    for (int k = 0; k < K; k++) {
                        sum += Math.exp(got[b * K + k] - max);
                    }
                    ce += -(got[b * K + (int) labels[b]] - max - Math.log(sum));
                }
                float loss = ((OnnxTensor) r.get(TrainingGraph.LOSS).get()).getFloatBuffer().get(0);
                assertEquals(ce / 2, loss, 1e-5);
            }
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void aTrainingGraphReturnsGradientsOnlyForWhatTrains() {
        ClassifierHead head = new ClassifierHead(K, Pooling.MEAN);
        ParameterLayout layout = ClassifierGraphs.layout(TINY, head);
        float[] p = params(head, 3);
        Trainable upper = TrainingScope.parse("1", "all").select(TINY, layout);
        TrainingGraph g = ClassifierGraphs.training(TINY, head, 2, 8, DType.FLOAT, 0, upper, p, null);
        Set<String> grads = g.graph().toModel().getGraph().getOutputList().stream()
                .map(o -> o.getName()).filter(n -> n.startsWith(TrainingGraph.GRADIENT_PREFIX))
                .collect(Collectors.toSet());
        Set<String> expected = upper.layout().views().stream()
                .map(v -> TrainingGraph.gradientName(v.name())).collect(Collectors.toSet());
        assertEquals(expected, grads);
        assertTrue(grads.contains("grad.h.1.attn.c_attn.weight") && grads.contains("grad.cls.weight"));
        assertTrue(grads.stream().noneMatch(n -> n.startsWith("grad.h.0.") || n.equals("grad.wte")));
        assertEquals(g.layout().size(), upper.count());
        assertTrue(upper.percent() > 0 && upper.percent() < 100);
    }

    @Test
    void freezingMoreBlocksThanTheModelHasIsRefusedByName() {
        ParameterLayout layout = ClassifierGraphs.layout(TINY, new ClassifierHead(2, Pooling.LAST));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingScope.parse("3", null).select(TINY, layout));
        assertTrue(e.getMessage().contains("cannot freeze 3 blocks: the model has 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TrainingScope.parse("x", null));
        assertThrows(IllegalArgumentException.class, () -> TrainingScope.parse("1", "head"));
        assertThrows(IllegalArgumentException.class,
                () -> new TrainingScope(false, 0, true).select(TINY, ParameterLayout.of(TINY)));
    }

    @Test
    void extractThenMergeRestoresTheTrainedValuesInPlace() {
        ClassifierHead head = new ClassifierHead(2, Pooling.LAST);
        ParameterLayout layout = ClassifierGraphs.layout(TINY, head);
        float[] p = params(head, 4);
        Trainable t = TrainingScope.parse("embeddings", null).select(TINY, layout);
        float[] trained = t.extract(p);
        for (int i = 0; i < trained.length; i++) {
            trained[i] += 1;
        }
        float[] merged = t.merge(p, trained);
        ParameterLayout.View wte = layout.view("wte");
        assertEquals(p[(int) wte.offset()], merged[(int) wte.offset()], "frozen values stay");
        ParameterLayout.View clsW = layout.view("cls.weight");
        assertEquals(p[(int) clsW.offset()] + 1, merged[(int) clsW.offset()], 1e-6, "trained values land in place");
    }

    @Test
    void aMergedLoraExportGivesTheLogitsOfTheAdaptedGraphAndZeroBStartsAtTheBaseModel() throws Exception {
        ClassifierHead head = new ClassifierHead(K, Pooling.LAST);
        LoraConfig lora = new LoraConfig(2, 4, LoraConfig.parseTargets("attn,mlp"), 0.1);
        ParameterLayout base = ClassifierGraphs.layout(TINY, head);
        ParameterLayout extended = ClassifierGraphs.layout(TINY, head, lora);
        float[] p = params(head, 6);
        float[] start = lora.initialValues(extended, p, 1);
        Trainable adapters = Trainable.of(extended, n -> LoraConfig.isAdapter(n));
        long[] ids = {1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10};
        long[] lengths = {4, 6};
        float[] baseLogits = inferenceLogits(base, head, p, ids, lengths);
        float[] startLogits = evalLogits(head, adapters, start, ids, lengths, lora);
        for (int i = 0; i < baseLogits.length; i++) {
            assertEquals(baseLogits[i], startLogits[i], 1e-5, "B = 0: the adapted model is the base model");
        }
        float[] trained = start.clone();
        Random r = new Random(2);
        for (ParameterLayout.View v : extended.views()) {
            if (v.name().endsWith(".lora_B")) {
                for (long i = v.offset(); i < v.offset() + v.length(); i++) {
                    trained[(int) i] = (float) (0.3 * r.nextGaussian());
                }
            }
        }
        float[] adapted = evalLogits(head, adapters, trained, ids, lengths, lora);
        float[] merged = inferenceLogits(base, head, lora.merge(extended, trained, base, TINY), ids, lengths);
        boolean changed = false;
        for (int i = 0; i < adapted.length; i++) {
            assertEquals(adapted[i], merged[i], 1e-4, "merged export = adapted graph, logit " + i);
            changed |= Math.abs(adapted[i] - baseLogits[i]) > 1e-3;
        }
        assertTrue(changed, "trained adapters change the model");
        assertThrows(IllegalArgumentException.class, () -> new LoraConfig(0, 16, Set.of(LoraConfig.Target.ATTN), 0));
        assertThrows(IllegalArgumentException.class, () -> LoraConfig.parseTargets("attn,ffn"));
    }

    private float[] inferenceLogits(ParameterLayout layout, ClassifierHead head, float[] p, long[] ids, long[] lengths)
            throws Exception {
        try (OrtSession s = env.createSession(ClassifierGraphs.inference(TINY, head, FloatBuffer.wrap(p)).toBytes(),
                new OrtSession.SessionOptions())) {
            return logits(s, ids, lengths, lengths.length, ids.length / lengths.length);
        }
    }

    private float[] evalLogits(ClassifierHead head, Trainable trainable, float[] full, long[] ids, long[] lengths,
                               LoraConfig lora) throws Exception {
        int b = lengths.length;
        int t = ids.length / b;
        byte[] eval = ClassifierGraphs.evaluation(TINY, head, t, DType.FLOAT, trainable, full, lora).toBytes();
        float[] values = trainable.extract(full);
        try (OrtSession s = env.createSession(eval, new OrtSession.SessionOptions())) {
            Map<String, OnnxTensor> in = new HashMap<>();
            for (ParameterLayout.View v : trainable.layout().views()) {
                in.put(v.name(), OnnxTensor.createTensor(env, FloatBuffer.wrap(java.util.Arrays.copyOfRange(values,
                        (int) v.offset(), (int) (v.offset() + v.length()))), v.shape()));
            }
            in.put(TrainingGraph.TOKENS, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, t}));
            in.put(ClassifierGraphs.LENGTHS, OnnxTensor.createTensor(env, LongBuffer.wrap(lengths), new long[] {b}));
            in.put(ClassifierGraphs.LABELS, OnnxTensor.createTensor(env, LongBuffer.wrap(new long[b]), new long[] {b}));
            try (OrtSession.Result r = s.run(in)) {
                return ((OnnxTensor) r.get(ClassifierGraphs.CLASS_LOGITS).get()).getFloatBuffer().array();
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    private float[] logits(OrtSession s, long[] ids, long[] lengths, int b, int t) throws Exception {
        try (OnnxTensor i = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, t});
             OnnxTensor l = OnnxTensor.createTensor(env, LongBuffer.wrap(lengths), new long[] {b});
             OrtSession.Result r = s.run(Map.of(GptGraphs.INPUT_IDS, i, ClassifierGraphs.LENGTHS, l))) {
            return ((OnnxTensor) r.get(ClassifierGraphs.CLASS_LOGITS).get()).getFloatBuffer().array();
        }
    }
}
