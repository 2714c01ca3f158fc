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
import io.troupe.worker.train.Bf16Rounding;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The bf16-storage step graph on ONNX Runtime's CPU provider: its loss and gradients are those of
 * the fp32 graph to bfloat16 storage accuracy, and they are not bit-identical to fp32's, which
 * shows the activations really went through bfloat16 (ORT did not fold the Cast pairs away).
 */
class Bf16StorageGraphTest {
    private static final int ROWS = 4;
    private static final int T = 16;

    @Test
    void bf16StorageGradientsMatchFp32ToBfloat16Accuracy() throws Exception {
        for (double dropout : new double[] {0.0, 0.1}) {
            GptConfig cfg = new GptConfig(29, T, 2, 2, 32, dropout, true, true);
            ParameterLayout layout = ParameterLayout.of(cfg);
            FlatLayout flat = WorkerJob.flatLayout(layout);
            float[] params = ParameterInit.gpt2(cfg, layout, 7);
            Bf16Rounding.roundNearest(params);          // bf16-storage's parameters are bfloat16 values
            Random random = new Random(3);
            long[] tokens = random.longs(ROWS * T, 0, cfg.vocabSize()).toArray();
            long[] targets = random.longs(ROWS * T, 0, cfg.vocabSize()).toArray();
            float[] expected = new float[params.length];
            float[] actual = new float[params.length];
            double expectedLoss = step(cfg, flat, params, tokens, targets, Precision.FP32, expected);
            double loss = step(cfg, flat, params, tokens, targets, Precision.BF16_STORAGE, actual);
            double relative = GradientError.relativeL2(actual, expected);
            System.out.println("dropout " + dropout + ": loss " + loss + " vs " + expectedLoss
                    + ", relative L2 gradient error " + relative);
            assertEquals(expectedLoss, loss, 2e-3 * expectedLoss, "loss, dropout " + dropout);
            assertTrue(relative < 1e-2, "gradients differ by " + relative + " (relative L2), dropout " + dropout);
            assertTrue(relative > 1e-5, "gradients equal fp32's to " + relative
                    + ": the activations were not stored in bfloat16, dropout " + dropout);
        }
    }

    /**
     * ORT's optimizer (level ALL, as training runs) removes no storage Cast: a forward copy merged
     * with a backward one would keep a float32 copy alive from the forward to the backward pass,
     * and a folded Cast pair would not round at all. The fp32 graph's own Casts are the baseline.
     */
    @Test
    void ortsOptimizerKeepsEveryStorageCast() throws Exception {
        GptConfig cfg = new GptConfig(65, 64, 4, 4, 128, 0.0, true, true);    // the small preset's shape
        long[] fp32 = castsBuiltAndOptimized(GptGraphs.training(cfg, 6, 64, DType.FLOAT, 5, null, null, null,
                ActivationCheckpointing.NONE, Precision.FP32));
        long[] bf16 = castsBuiltAndOptimized(GptGraphs.training(cfg, 6, 64, DType.FLOAT, 5, null, null, null,
                ActivationCheckpointing.NONE, Precision.BF16_STORAGE));
        System.out.println("Casts built/optimized: fp32 " + fp32[0] + "/" + fp32[1] + ", bf16-storage " + bf16[0] + "/"
                + bf16[1]);
        assertTrue(bf16[0] - fp32[0] > 100, "storage Casts built: " + (bf16[0] - fp32[0]));
        assertEquals(bf16[0] - fp32[0], bf16[1] - fp32[1], "ORT removed storage Casts");
    }

    private static long[] castsBuiltAndOptimized(TrainingGraph g) throws Exception {
        long built = g.graph().nodes().stream().filter(n -> n.opType().equals("Cast")).count();
        java.nio.file.Path optimized = java.nio.file.Files.createTempFile("bf16-storage", ".onnx");
        try (ai.onnxruntime.OrtSession.SessionOptions so = new ai.onnxruntime.OrtSession.SessionOptions()) {
            so.setOptimizationLevel(GraphOptimization.ALL.ortLevel());
            so.setOptimizedModelFilePath(optimized.toString());
            try (ai.onnxruntime.OrtSession session = OrtSessions.environment().createSession(g.toBytes(), so)) {
                io.troupe.protocol.onnx.ModelProto m = io.troupe.protocol.onnx.ModelProto.parseFrom(
                        java.nio.file.Files.readAllBytes(optimized));
                return new long[] {built, m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Cast"))
                        .count()};
            }
        } finally {
            java.nio.file.Files.deleteIfExists(optimized);
        }
    }

    private static double step(GptConfig cfg, FlatLayout flat, float[] params, long[] tokens, long[] targets,
                               Precision precision, float[] grads) throws Exception {
        try (BatchParallelEngine engine = BatchParallelEngine.create(
                (lane, rows) -> GptGraphs.training(cfg, rows, T, DType.FLOAT, 5, null, null, null,
                        ActivationCheckpointing.NONE, precision).toBytes(),
                flat, EngineOptions.cpu(1), ROWS, T, List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS))) {
            engine.setParameters(params);
            engine.batch(TrainingGraph.TOKENS).put(tokens);
            engine.batch(TrainingGraph.TARGETS).put(targets);
            return engine.step(grads);
        }
    }
}
