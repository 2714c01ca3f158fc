package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.SettingsException;
import io.troupe.worker.train.TrainSettings;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Exchanger;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Overlapping the all-reduce with the backward pass (overlap_allreduce) changes nothing but the
 * timing: two workers with gradient accumulation, clipping and dropout end with the parameters,
 * losses and norms of the one-graph step, bit for bit.
 */
class OverlapAllReduceTest {
    private static final String TEXT = "to be or not to be, that is the question: whether 'tis nobler in the mind\n"
            .repeat(40);
    private static final int BATCH = 8;
    private static final int STEPS = 3;

    private static TrainSettings settings(boolean overlap) {
        Map<String, String> m = new HashMap<>(Map.of("n_layer", "3", "n_head", "2", "n_embd", "16", "block_size", "16",
                "batch_size", String.valueOf(BATCH), "grad_accum", "2", "warmup_iters", "0", "seed", "3",
                "dropout", "0.1", "grad_clip", "0.05"));
        m.put("overlap_allreduce", String.valueOf(overlap));
        m.put("allreduce_buckets", "3");
        return TrainSettings.load(null, m);
    }

    /** Two in-process workers' mean: (rank 0 + rank 1) * 0.5 element by element, whatever the packing. */
    private static final class PairReducer implements GradientReducer {
        private final Exchanger<float[]> exchanger;
        private final int rank;
        final List<Integer> sizes = new ArrayList<>();

        PairReducer(Exchanger<float[]> exchanger, int rank) {
            this.exchanger = exchanger;
            this.rank = rank;
        }

        @Override
        public void allReduceMean(FloatBuffer gradients, long step) throws ReductionException {
            float[] mine = new float[gradients.remaining()];
            gradients.duplicate().get(mine);
            sizes.add(mine.length);
            float[] theirs;
            try {
                theirs = exchanger.exchange(mine, 30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new ReductionException("the peer did not exchange: " + e, e);
            }
            float[] first = rank == 0 ? mine : theirs;
            float[] second = rank == 0 ? theirs : mine;
            for (int i = 0; i < mine.length; i++) {
                gradients.put(gradients.position() + i, (first[i] + second[i]) * 0.5f);
            }
        }
    }

    private record Run(float[] params, List<WorkerJob.StepResult> results, List<Integer> reduceSizes) {
    }

    private static List<Run> train(boolean overlap) throws Exception {
        return train(overlap, step -> 1e-2);
    }

    private static List<Run> train(boolean overlap, java.util.function.LongToDoubleFunction lr) throws Exception {
        TrainSettings s = settings(overlap);
        Tokenizer tokenizer = CharTokenizer.fromText(TEXT);
        TokenSplit split = TokenSplit.encode(new TextCorpus(Path.of("mem.txt"), TEXT), tokenizer, s.blockSize());
        Exchanger<float[]> exchanger = new Exchanger<>();
        List<CompletableFuture<Run>> ranks = new ArrayList<>();
        // Two threads of their own: the common pool may have one on a small machine, and the ranks meet.
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
        for (int rank = 0; rank < 2; rank++) {
            int r = rank;
            ranks.add(CompletableFuture.supplyAsync(() -> {
                PairReducer reducer = new PairReducer(exchanger, r);
                try (WorkerJob job = new WorkerJob(s, tokenizer, split, BatchPlan.of(BATCH, 2, 2, r),
                        EngineOptions.cpu(1), reducer, null)) {
                    List<WorkerJob.StepResult> results = new ArrayList<>();
                    for (long step = 1; step <= STEPS; step++) {
                        results.add(job.step(step, lr.applyAsDouble(step),
                                ElasticShare.of(BATCH, 2, 2, r, (step - 1) * BATCH)));
                        assertTrue(job.lastExposedReduceMillis() <= job.lastReduceMillis() + 1e-9
                                || !overlap, "exposed time is part of the all-reduce time");
                    }
                    return new Run(job.parameters().clone(), results, reducer.sizes);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }, threads));
        }
        try {
            List<Run> runs = new ArrayList<>();
            for (CompletableFuture<Run> f : ranks) {
                runs.add(f.get(120, TimeUnit.SECONDS));
            }
            return runs;
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void overlappedStepsEndBitIdenticalToTheOneGraphSteps() throws Exception {
        List<Run> plain = train(false);
        List<Run> overlapped = train(true);
        for (int rank = 0; rank < 2; rank++) {
            assertArrayEquals(plain.get(rank).params(), overlapped.get(rank).params(), 0f,
                    "rank " + rank + ": every parameter after " + STEPS + " steps");
            for (int i = 0; i < STEPS; i++) {
                WorkerJob.StepResult a = plain.get(rank).results().get(i);
                WorkerJob.StepResult b = overlapped.get(rank).results().get(i);
                assertEquals(a.loss(), b.loss(), 0.0, "loss of step " + (i + 1));
                assertEquals(a.gradNorm(), b.gradNorm(), 0.0, "gradient norm (clipped at 0.05) of step " + (i + 1));
                assertTrue(a.gradNorm() > 0.05, "the clip applied");
            }
        }
        assertArrayEquals(plain.get(0).params(), plain.get(1).params(), 0f, "the workers agree");
        assertEquals(STEPS, plain.get(0).reduceSizes().size(), "one all-reduce a step without overlap");
        List<Integer> sizes = overlapped.get(0).reduceSizes();
        assertEquals(3 * STEPS, sizes.size(), "one all-reduce per bucket with overlap");
        int total = plain.get(0).reduceSizes().get(0);
        assertEquals(total, sizes.get(0) + sizes.get(1) + sizes.get(2), "the buckets cover the gradient once");
    }

    @Test
    void aNonFiniteStepIsSkippedAlikeWithAndWithoutOverlap() throws Exception {
        // A huge first update overflows the next forward pass: the loss is not finite from step 2 on.
        java.util.function.LongToDoubleFunction blowUp = step -> step == 1 ? 1e37 : 1e-2;
        List<Run> plain = train(false, blowUp);
        List<Run> overlapped = train(true, blowUp);
        for (int rank = 0; rank < 2; rank++) {
            List<Boolean> skipped = plain.get(rank).results().stream().map(WorkerJob.StepResult::skipped).toList();
            assertEquals(List.of(false, true, true), skipped, "rank " + rank + ": the overflow skips steps 2 and 3");
            assertEquals(skipped,
                    overlapped.get(rank).results().stream().map(WorkerJob.StepResult::skipped).toList());
            assertArrayEquals(plain.get(rank).params(), overlapped.get(rank).params(), 0f,
                    "the skipped steps left the parameters alike");
        }
    }

    @Test
    void overlapIsRefusedWhereThereIsNoPerStepGradientAllReduce() {
        SettingsException diloco = assertThrows(SettingsException.class, () -> TrainSettings.load(null,
                Map.of("overlap_allreduce", "true", "sync", "diloco")));
        assertTrue(diloco.getMessage().contains("overlap_allreduce"), diloco.getMessage());
        SettingsException bert = assertThrows(SettingsException.class, () -> TrainSettings.load(null,
                Map.of("overlap_allreduce", "true", "arch", "bert")));
        assertTrue(bert.getMessage().contains("arch = gpt"), bert.getMessage());
        assertThrows(SettingsException.class, () -> TrainSettings.load(null, Map.of("allreduce_buckets", "0")));
    }
}
