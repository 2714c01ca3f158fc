package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** One optimizer step computes the same update however its rows are split. */
class WorkerJobTest {
    private static final String TEXT = "to be or not to be, that is the question: whether 'tis nobler in the mind\n"
            .repeat(40);

    /** Parameters after one step, followed by the step's loss and gradient norm (before clipping). */
    private static float[] afterOneStep(Map<String, String> overrides, int threads) throws Exception {
        TrainSettings settings = TrainSettings.load(null, overrides);
        Tokenizer tokenizer = CharTokenizer.fromText(TEXT);
        TokenSplit split = TokenSplit.encode(new TextCorpus(Path.of("mem.txt"), TEXT), tokenizer, settings.blockSize());
        BatchPlan plan = BatchPlan.of(settings.batchSize(), settings.gradAccum(), 1, 0);
        try (WorkerJob job = new WorkerJob(settings, tokenizer, split, plan, EngineOptions.cpu(threads),
                GradientReducer.LOCAL, null)) {
            WorkerJob.StepResult result = job.step(1, 1e-2,
                    ElasticShare.of(settings.batchSize(), settings.gradAccum(), 1, 0, 0));
            float[] params = job.parameters();
            float[] out = java.util.Arrays.copyOf(params, params.length + 2);
            out[params.length] = (float) result.loss();
            out[params.length + 1] = (float) result.gradNorm();
            return out;
        }
    }

    private static Map<String, String> tiny(String accumulation) {
        return Map.of("n_layer", "1", "n_head", "2", "n_embd", "16", "block_size", "16", "batch_size", "4",
                "grad_accum", accumulation, "warmup_iters", "0", "seed", "3");
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    @Test
    void accumulatingMicroBatchesOrSplittingIntoLanesGivesTheSameUpdate() throws Exception {
        // Samples 0..3 of the sample order either way, so 2 micro-batches of 2 rows see the same rows as
        // one batch of 4: the averaged gradient, and so the AdamW update, must agree.
        float[] whole = afterOneStep(tiny("1"), 1);
        float[] accumulated = afterOneStep(tiny("2"), 1);
        float[] lanes = afterOneStep(tiny("1"), 2);
        float[] initial;
        try (WorkerJob job = new WorkerJob(TrainSettings.load(null, tiny("1")), CharTokenizer.fromText(TEXT),
                TokenSplit.encode(new TextCorpus(Path.of("mem.txt"), TEXT), CharTokenizer.fromText(TEXT), 16),
                BatchPlan.of(4, 1, 1, 0), EngineOptions.cpu(1), GradientReducer.LOCAL, null)) {
            initial = job.parameters().clone();
        }
        // AdamW's first step moves each weight by about lr = 1e-2; the three must agree far closer.
        // The loss and the gradient norm (compared too, as the last two entries) catch a wrong
        // gradient scale, which Adam's normalised update and clipping would hide.
        assertTrue(maxDifference(java.util.Arrays.copyOf(whole, initial.length), initial) > 1e-3,
                "the step changed the parameters");
        assertEquals(0, maxDifference(whole, accumulated), 1e-5, "grad_accum=2 vs one batch");
        assertEquals(0, maxDifference(whole, lanes), 1e-5, "2 lanes vs one session");
    }

    private static WorkerJob tinyJob(GradientReducer reducer) throws Exception {
        Tokenizer tokenizer = CharTokenizer.fromText(TEXT);
        return new WorkerJob(TrainSettings.load(null, tiny("1")), tokenizer,
                TokenSplit.encode(new TextCorpus(Path.of("mem.txt"), TEXT), tokenizer, 16), BatchPlan.of(4, 1, 2, 0),
                EngineOptions.cpu(1), reducer, null);
    }

    @Test
    void anElasticStepOnTheSameSamplesGivesTheSameUpdateHoweverTheyAreSplit() throws Exception {
        // One worker on all 4 samples vs a worker whose "all-reduce" adds the other half's
        // gradient (computed by a second job on samples 2..3), as a ring of 2 would.
        float[] whole;
        try (WorkerJob job = tinyJob(GradientReducer.LOCAL)) {
            job.step(1, 1e-2, new ElasticShare(0, 4, 4, 1, 1, 4));
            whole = job.parameters().clone();
        }
        float[] otherHalf = new float[whole.length];
        try (WorkerJob other = tinyJob((gradients, step) -> gradients.get(0, otherHalf))) {
            other.step(1, 1e-2, new ElasticShare(2, 2, 2, 1, 2, 4));
        }
        float[] split;
        try (WorkerJob job = tinyJob((gradients, step) -> {
            for (int i = 0; i < otherHalf.length; i++) {
                gradients.put(i, (gradients.get(i) + otherHalf[i]) / 2);
            }
        })) {
            job.step(1, 1e-2, new ElasticShare(0, 2, 2, 1, 2, 4));
            split = job.parameters().clone();
        }
        assertEquals(0, maxDifference(whole, split), 1e-5, "2 workers x 2 samples vs 1 worker x 4 samples");
    }

    @Test
    void aNonFiniteAveragedGradientSkipsTheUpdate() throws Exception {
        GradientReducer poisoning = (gradients, step) -> gradients.put(0, Float.NaN);
        try (WorkerJob job = tinyJob(poisoning)) {
            float[] before = job.parameters().clone();
            long checksum = job.parameterChecksum();
            WorkerJob.StepResult result = job.step(1, 1e-2, new ElasticShare(0, 2, 2, 1, 2, 4));
            assertTrue(result.skipped(), "a NaN in the averaged gradient must skip the step");
            assertTrue(Double.isNaN(result.gradNorm()));
            assertEquals(checksum, job.parameterChecksum(), "the parameters are untouched");
            assertEquals(0, maxDifference(before, job.parameters()));
        }
        GradientReducer clean = (gradients, step) -> { };
        try (WorkerJob job = tinyJob(clean)) {
            long checksum = job.parameterChecksum();
            assertTrue(!job.step(1, 1e-2, new ElasticShare(0, 2, 2, 1, 2, 4)).skipped());
            assertTrue(checksum != job.parameterChecksum(), "a finite gradient is applied");
        }
    }

    @Test
    void aNonFiniteLossSkipsTheUpdateOnEveryWorkerAlike() throws Exception {
        // NaN parameters give a NaN loss; after averaging with a peer's half the step must still be skipped.
        GradientReducer cleanPeer = (gradients, step) -> {
            for (int i = 0; i < gradients.limit(); i++) {
                gradients.put(i, gradients.get(i) / 2);
            }
        };
        try (WorkerJob job = tinyJob(cleanPeer)) {
            io.troupe.worker.checkpoint.Checkpoint nan = job.checkpoint(0, "nan", Double.POSITIVE_INFINITY);
            java.util.Arrays.fill(nan.parameters(), Float.NaN);
            job.restoreState(nan);
            long checksum = job.parameterChecksum();
            WorkerJob.StepResult result = job.step(1, 1e-2, new ElasticShare(0, 2, 2, 1, 2, 4));
            assertTrue(Double.isNaN(result.loss()));
            assertTrue(result.skipped(), "a non-finite loss must skip the step");
            assertEquals(checksum, job.parameterChecksum(), "the parameters are untouched");
        }
    }

    @Test
    void aCheckpointRecordsTheSampleCursorAndRefusesOneOfAnotherBatchSize() throws Exception {
        try (WorkerJob job = tinyJob(GradientReducer.LOCAL)) {
            io.troupe.worker.checkpoint.Checkpoint c = job.checkpoint(5, "id", 1.0);
            assertEquals(WorkerJob.SAMPLE_ORDER_TAG, c.samplerState()[0]);
            assertEquals(5 * 4, c.samplerState()[1], "after 5 steps of 4 samples the next sample is 20");
            job.restoreState(c);
            io.troupe.worker.checkpoint.Checkpoint shifted = new io.troupe.worker.checkpoint.Checkpoint(c.config(),
                    c.parameters(), c.adamM(), c.adamV(), c.optimizerStep(), c.trainingStep(),
                    new long[] {WorkerJob.SAMPLE_ORDER_TAG, 24}, c.extraRngState(), c.tokenizer());
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> job.restoreState(shifted));
            assertTrue(e.getMessage().contains("another batch_size"), e.getMessage());
            // A checkpoint of an older version holds a generator state there: it still loads.
            job.restoreState(new io.troupe.worker.checkpoint.Checkpoint(c.config(), c.parameters(), c.adamM(),
                    c.adamV(), c.optimizerStep(), c.trainingStep(), new long[] {1, 2, 3, 4}, c.extraRngState(),
                    c.tokenizer()));
        }
    }

    @Test
    void aSparesComputeWarmUpLeavesTheTrainingStateAndTheNextStepAsTheyWere() throws Exception {
        // dropout 0: with dropout, ORT's masks follow the session's run count, which the warm-up
        // advances as any restart does; without, the next step must be bit-identical.
        Map<String, String> settings = new java.util.HashMap<>(tiny("2"));
        settings.put("dropout", "0.0");
        float[][] results = new float[2][];
        for (int warm = 0; warm < 2; warm++) {
            TrainSettings train = TrainSettings.load(null, settings);
            Tokenizer tokenizer = CharTokenizer.fromText(TEXT);
            try (WorkerJob job = new WorkerJob(train, tokenizer,
                    TokenSplit.encode(new TextCorpus(Path.of("mem.txt"), TEXT), tokenizer, 16), BatchPlan.of(4, 2, 1, 0),
                    EngineOptions.cpu(1), GradientReducer.LOCAL, null)) {
                float[] before = job.parameters().clone();
                long checksum = job.parameterChecksum();
                if (warm == 1) {
                    assertTrue(job.warmUpCompute() >= 0, "the GPT engine is warmed");
                    assertTrue(java.util.Arrays.equals(before, job.parameters()), "the warm-up changed the parameters");
                    assertEquals(checksum, job.parameterChecksum());
                }
                WorkerJob.StepResult result = job.step(1, 1e-2, ElasticShare.of(4, 2, 1, 0, 0));
                float[] params = job.parameters();
                results[warm] = java.util.Arrays.copyOf(params, params.length + 1);
                results[warm][params.length] = (float) result.loss();
            }
        }
        assertTrue(java.util.Arrays.equals(results[0], results[1]), "the step after a warm-up differs");
    }
}
