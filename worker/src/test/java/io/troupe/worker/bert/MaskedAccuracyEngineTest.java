package io.troupe.worker.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.bert.EncoderGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.model.graph.DType;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.engine.StepEngine;
import io.troupe.worker.job.WorkerJob;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Masked-token accuracy as the training loop reads it: the evaluation engine's pinned
 * {@code masked_correct} / {@code masked_count} outputs, on a hand example whose top-1
 * predictions are read off the inference graph's logits.
 */
class MaskedAccuracyEngineTest {
    private static final EncoderConfig CFG = new EncoderConfig(17, 8, 2, 1, 2, 8, 16, 0.0, false, "none", 1e-12, true);

    @Test
    void theEvaluationEngineCountsTopOneHitsAtMaskedPositionsOnly() throws Exception {
        float[] p = ParameterInit.gpt2(CFG, CFG.layout(), 11);
        int b = 2;
        int t = 4;
        long[] idx = {1, 5, 6, 2, 1, 7, 8, 2};
        int[] top = topPredictions(p, idx, b, t);
        long[] targets = new long[b * t];
        Arrays.fill(targets, EncoderGraphs.IGNORE);
        targets[1] = top[1];                      // hit
        targets[2] = (top[2] + 3) % 17;           // miss
        targets[5] = top[5];                      // hit
        targets[6] = (top[6] + 1) % 17;           // miss
        // Positions 0, 3, 4 and 7 are not masked: a wrong "target" there must not count.
        try (StepEngine eval = StepEngine.create(EncoderGraphs.mlmEvaluation(CFG, b, t, DType.FLOAT).toBytes(),
                WorkerJob.flatLayout(CFG.layout()), EngineOptions.cpu(1))) {
            eval.parameterBuffer().copyFrom(p);
            eval.feed(TrainingGraph.TOKENS, idx);
            eval.feed(TrainingGraph.TARGETS, targets);
            eval.step();
            assertEquals(2f, eval.metric(EncoderGraphs.MASKED_CORRECT));
            assertEquals(4f, eval.metric(EncoderGraphs.MASKED_COUNT));
            targets[6] = top[6];                  // now a hit too: 3 of 4
            eval.feed(TrainingGraph.TARGETS, targets);
            eval.step();
            assertEquals(3f, eval.metric(EncoderGraphs.MASKED_CORRECT));
            assertThrows(IllegalArgumentException.class, () -> eval.metric("no_such_output"));
        }
    }

    private static int[] topPredictions(float[] p, long[] idx, int b, int t) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        byte[] inference = EncoderGraphs.inference(CFG, FloatBuffer.wrap(p), true).toBytes();
        int[] top = new int[b * t];
        try (OrtSession s = env.createSession(inference, new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(idx), new long[] {b, t});
             OnnxTensor l = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {t, t}), new long[] {b});
             OrtSession.Result r = s.run(Map.of(EncoderGraphs.INPUT_IDS, x, EncoderGraphs.LENGTHS, l))) {
            FloatBuffer logits = ((OnnxTensor) r.get(EncoderGraphs.LOGITS).orElseThrow()).getFloatBuffer();
            for (int i = 0; i < b * t; i++) {
                int best = 0;
                for (int v = 1; v < CFG.vocabSize(); v++) {
                    if (logits.get(i * CFG.vocabSize() + v) > logits.get(i * CFG.vocabSize() + best)) {
                        best = v;
                    }
                }
                top[i] = best;
            }
        }
        return top;
    }
}
