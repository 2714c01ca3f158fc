package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.gpt.ActivationCheckpointing;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.StagedTrainingGraph;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.model.graph.DType;
import io.troupe.worker.job.WorkerJob;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The staged step's gradients are the whole graph's, bit for bit, for every parameter. */
class StagedBatchEngineTest {
    private static final int ROWS = 4;
    private static final int T = 8;

    @ParameterizedTest(name = "buckets {0}, lanes {1}, dropout {2}, tied {3}")
    @CsvSource({"1,1,0.0,true", "2,1,0.1,true", "3,2,0.1,true", "3,1,0.0,false", "2,2,0.0,false"})
    void stagedGradientsEqualTheWholeGraphsBitForBit(int buckets, int lanes, double dropout, boolean tied)
            throws Exception {
        GptConfig cfg = new GptConfig(13, T, 3, 2, 16, dropout, true, tied);
        ParameterLayout layout = ParameterLayout.of(cfg);
        FlatLayout flat = WorkerJob.flatLayout(layout);
        float[] params = ParameterInit.gpt2(cfg, layout, 7);
        EngineOptions options = EngineOptions.cpu(lanes);
        List<String> inputs = List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS);
        StagedTrainingGraph probe = GptGraphs.stagedTraining(cfg, ROWS, T, DType.FLOAT, 5, null, null, null,
                ActivationCheckpointing.NONE, buckets);
        List<List<String>> stageGradients = new ArrayList<>();
        probe.stages().forEach(s -> stageGradients.add(s.gradients()));
        assertEquals(buckets, probe.stages().size());
        assertEquals(layout.views().size(), stageGradients.stream().mapToInt(List::size).sum(),
                "every parameter's gradient comes out of exactly one stage");
        try (BatchParallelEngine whole = BatchParallelEngine.create(
                (lane, rows) -> GptGraphs.training(cfg, rows, T, DType.FLOAT, 5 + 104_729L * lane).toBytes(),
                flat, options, ROWS, T, inputs);
             StagedBatchEngine staged = StagedBatchEngine.create(
                (lane, rows) -> stages(GptGraphs.stagedTraining(cfg, rows, T, DType.FLOAT, 5 + 104_729L * lane,
                        null, null, null, ActivationCheckpointing.NONE, buckets)),
                flat, options, ROWS, T, inputs, lanes)) {
            whole.setParameters(params);
            staged.setParameters(params);
            Random random = new Random(3);
            // Three steps: Dropout's masks follow each session's run count, which must stay in step too.
            for (int step = 0; step < 3; step++) {
                long[] tokens = random.longs(ROWS * T, 0, cfg.vocabSize()).toArray();
                long[] targets = random.longs(ROWS * T, 0, cfg.vocabSize()).toArray();
                fill(whole.batch(TrainingGraph.TOKENS), tokens);
                fill(whole.batch(TrainingGraph.TARGETS), targets);
                fill(staged.batch(TrainingGraph.TOKENS), tokens);
                fill(staged.batch(TrainingGraph.TARGETS), targets);
                float[] expected = new float[params.length];
                float[] actual = new float[params.length];
                double expectedLoss = whole.step(expected);
                List<Integer> order = new ArrayList<>();
                double loss = staged.step(actual, (stage, ranges, l) -> order.add(stage));
                assertEquals(expectedLoss, loss, 0.0);
                for (ParameterLayout.View v : layout.views()) {
                    for (long i = v.offset(); i < v.offset() + v.length(); i++) {
                        int k = (int) i;
                        assertEquals(Float.floatToRawIntBits(expected[k]), Float.floatToRawIntBits(actual[k]),
                                () -> "step gradient of " + v.name() + " differs at " + k);
                    }
                }
                assertEquals(java.util.stream.IntStream.range(0, buckets).boxed().toList(), order);
                assertTrue(java.util.Arrays.stream(staged.ranges(buckets - 1)).anyMatch(r -> r[0] == 0),
                        "the last stage completes wte (offset 0), whose gradient the embedding lookup adds to");
            }
        }
    }

    private static List<StagedBatchEngine.Stage> stages(StagedTrainingGraph g) {
        return g.stages().stream().map(s -> new StagedBatchEngine.Stage(s.graph().toBytes(), s.gradients())).toList();
    }

    private static void fill(LongBuffer buffer, long[] values) {
        buffer.put(values);
    }
}
