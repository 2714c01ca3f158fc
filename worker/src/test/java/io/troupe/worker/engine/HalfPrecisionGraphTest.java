package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.gpt.ActivationCheckpointing;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Precision;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.model.graph.DType;
import io.troupe.worker.job.WorkerJob;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fp16 step graph computes the fp32 graph's loss and gradients to float16 accuracy, and
 * returns the gradients already divided by the loss scale.
 */
class HalfPrecisionGraphTest {
    private static final int ROWS = 4;
    private static final int T = 16;

    @Test
    void fp16GradientsMatchFp32ToHalfPrecisionAtAnyLossScale() throws Exception {
        GptConfig cfg = new GptConfig(29, T, 2, 2, 32, 0.0, true, true);
        ParameterLayout layout = ParameterLayout.of(cfg);
        FlatLayout flat = WorkerJob.flatLayout(layout);
        float[] params = ParameterInit.gpt2(cfg, layout, 7);
        EngineOptions options = EngineOptions.cpu(1);
        Random random = new Random(3);
        long[] tokens = random.longs(ROWS * T, 0, cfg.vocabSize()).toArray();
        long[] targets = random.longs(ROWS * T, 0, cfg.vocabSize()).toArray();
        float[] expected = new float[params.length];
        double expectedLoss;
        try (BatchParallelEngine fp32 = BatchParallelEngine.create(
                (lane, rows) -> GptGraphs.training(cfg, rows, T, DType.FLOAT, 5).toBytes(),
                flat, options, ROWS, T, List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS))) {
            fp32.setParameters(params);
            fp32.batch(TrainingGraph.TOKENS).put(tokens);
            fp32.batch(TrainingGraph.TARGETS).put(targets);
            expectedLoss = fp32.step(expected);
        }
        try (BatchParallelEngine fp16 = BatchParallelEngine.create(
                (lane, rows) -> GptGraphs.training(cfg, rows, T, DType.FLOAT, 5, null, null, null,
                        ActivationCheckpointing.NONE, Precision.FP16).toBytes(),
                flat, options, ROWS, T, List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS, GptGraphs.LOSS_SCALE))) {
            fp16.setParameters(params);
            fp16.batch(TrainingGraph.TOKENS).put(tokens);
            fp16.batch(TrainingGraph.TARGETS).put(targets);
            for (long scale : new long[] {1, 1024, 65536}) {
                LongBuffer s = fp16.batch(GptGraphs.LOSS_SCALE);
                while (s.hasRemaining()) {
                    s.put(scale);
                }
                float[] actual = new float[params.length];
                double loss = fp16.step(actual);
                assertEquals(expectedLoss, loss, 2e-3 * expectedLoss, "loss at scale " + scale);
                double relative = GradientError.relativeL2(actual, expected);
                System.out.println("scale " + scale + ": loss " + loss + " vs " + expectedLoss + ", relative gradient error " + relative);
                assertTrue(relative < 1e-2, "gradients at scale " + scale + " differ by " + relative + " (relative L2)");
            }
        }
    }

    @Test
    void fp16WithDropoutRuns() throws Exception {
        GptConfig cfg = new GptConfig(29, T, 2, 2, 32, 0.1, true, true);
        ParameterLayout layout = ParameterLayout.of(cfg);
        float[] params = ParameterInit.gpt2(cfg, layout, 7);
        try (BatchParallelEngine fp16 = BatchParallelEngine.create(
                (lane, rows) -> GptGraphs.training(cfg, rows, T, DType.FLOAT, 5, null, null, null,
                        ActivationCheckpointing.NONE, Precision.FP16).toBytes(),
                WorkerJob.flatLayout(layout), EngineOptions.cpu(1), ROWS, T,
                List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS, GptGraphs.LOSS_SCALE))) {
            fp16.setParameters(params);
            Random random = new Random(3);
            fp16.batch(TrainingGraph.TOKENS).put(random.longs(ROWS * T, 0, cfg.vocabSize()).toArray());
            fp16.batch(TrainingGraph.TARGETS).put(random.longs(ROWS * T, 0, cfg.vocabSize()).toArray());
            LongBuffer s = fp16.batch(GptGraphs.LOSS_SCALE);
            while (s.hasRemaining()) {
                s.put(1024);
            }
            float[] grads = new float[params.length];
            double loss = fp16.step(grads);
            assertTrue(Double.isFinite(loss) && loss > 3 && loss < 4, "loss " + loss);
            double norm = 0;
            for (float g : grads) {
                norm += g * (double) g;
            }
            assertTrue(Double.isFinite(norm) && norm > 0, "gradient norm^2 " + norm);
        }
    }
}
