package io.troupe.worker.seq2seq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.pairs.HashSplit;
import io.troupe.data.pairs.PairDataset;
import io.troupe.data.pairs.PairsPreparer;
import io.troupe.data.pairs.PairsRequest;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqInit;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.job.BatchPlan;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.GradientReducer;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.train.TrainSettings;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Exchanger;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An encoder-decoder on the one step path: two workers sharing each global batch (two lanes
 * each) end with the parameters of one worker running the whole batch in one session, over an
 * epoch whose rows have targets of different lengths and whose short batch leaves one worker
 * nothing but filler rows. That holds only if every lane is weighed by its share of the global
 * batch's target tokens and an empty lane is left out.
 */
class Seq2SeqWorkersTest {
    private static final String[] WORDS = {"the", "cat", "dog", "sees", "a", "house", "red", "big", "old", "runs"};
    private static final int BATCH = 12;

    @TempDir
    static Path dir;
    private static PairDataset data;
    private static Seq2SeqConfig cfg;

    @BeforeAll
    static void toyPairs() throws Exception {
        List<String> lines = new ArrayList<>();
        Random r = new Random(5);
        for (int i = 0; i < 130; i++) {
            int n = 1 + r.nextInt(6);
            StringBuilder en = new StringBuilder();
            StringBuilder fr = new StringBuilder();
            for (int k = 0; k < n; k++) {
                int w = r.nextInt(WORDS.length);
                en.append(k == 0 ? "" : " ").append(WORDS[w]);
                // Targets of another length than their sources: rows weigh differently by tokens than by count.
                fr.append(k == 0 ? "" : " ").append(WORDS[(w + 3) % WORDS.length]).append(w % 2 == 0 ? " x" : "");
            }
            lines.add(en + "\t" + fr);
        }
        Path file = dir.resolve("pairs.tsv");
        Files.write(file, lines);
        PairsPreparer.run(new PairsRequest(List.of(file), dir.resolve("data"), false, 1, 2, "en", "fr",
                HashSplit.parse("hash-en:80/10/10"), 300, false, 0.01, 16, 0), "toy pairs");
        data = PairDataset.open(dir.resolve("data"));
        cfg = new Seq2SeqConfig(data.tokenizer().vocabSize(), 32, 32, 1, 1, 2, 16, 32, 0.0, 0.1);
    }

    private static TrainSettings settings() {
        return Seq2SeqRun.settings(100, BATCH, 3e-3, 0, 100, 2, 11);
    }

    /** Steps of one epoch: it ends in the short batch somewhere. */
    private static long epochSteps() {
        try (PairRows rows = new PairRows(cfg, data, BATCH, 1, 11)) {
            return rows.samplesPerEpoch() / BATCH;
        }
    }

    @Test
    void theSampleOrderHoldsEveryTrainingPairOncePerEpochAndFillsOnlyTheShortBatch() {
        try (PairRows rows = new PairRows(cfg, data, BATCH, 1, 11)) {
            int n = data.split(HashSplit.Part.TRAIN).size();
            assertTrue(n % BATCH != 0, "the toy epoch needs a short batch, has " + n + " pairs");
            BitSet seen = new BitSet();
            int filler = 0;
            for (long s = rows.samplesPerEpoch(); s < 2 * rows.samplesPerEpoch(); s++) {
                int e = rows.example(s);
                if (e < 0) {
                    filler++;
                    continue;
                }
                assertFalse(seen.get(e), "pair " + e + " twice in epoch 1");
                seen.set(e);
            }
            assertEquals(n, seen.cardinality());
            assertEquals(BATCH - n % BATCH, filler);
        }
    }

    @Test
    void aWarmUpLongerThanTheRunOnlyRamps() {
        // train-seq2seq's defaults (warm-up 100) on a 40-step run: the rate is still rising at the last step.
        var schedule = Seq2SeqRun.settings(40, BATCH, 5e-4, 100, 40, 1, 1).schedule();
        assertEquals(5e-4 * 40 / 101, schedule.at(39), 1e-12);
        assertTrue(schedule.at(38) < schedule.at(39));
        // A run longer than its warm-up decays to a tenth of the peak at its last step.
        assertEquals(5e-5, Seq2SeqRun.settings(400, BATCH, 5e-4, 100, 40, 1, 1).schedule().at(400), 1e-12);
    }

    @Test
    void twoWorkersEndWithTheParametersOfOneWorkerOverTheSameGlobalBatches() throws Exception {
        long steps = epochSteps();
        float[] one = local(steps);
        List<float[]> two = pair(steps);
        float[] start = Seq2SeqInit.initial(cfg, 11);
        assertTrue(maxDiff(one, start) > 1e-2, "training moved the parameters: " + maxDiff(one, start));
        assertEquals(0, maxDiff(two.get(0), two.get(1)), "the two workers stay identical");
        double diff = maxDiff(one, two.get(0));
        // Measured 1.3e-6 after 10 steps that moved the parameters by up to 0.029 (float summation order
        // only). Weighing lanes by rows instead of target tokens gave 0.035; adding an all-filler lane's
        // 0/0 loss into the sum made step 8 non-finite on both workers (skipped).
        assertTrue(diff < 2e-5, "two workers vs one: max parameter difference " + diff);
    }

    /** One worker, one session for the whole global batch. */
    private static float[] local(long steps) throws Exception {
        TrainSettings s = settings();
        PairRows rows = new PairRows(cfg, data, BATCH, 1, 11);
        try (WorkerJob job = new WorkerJob(s, data.tokenizer(), rows, BatchPlan.of(BATCH, 1, 1, 0),
                EngineOptions.cpu(1), GradientReducer.LOCAL, null, Seq2SeqRun.start(cfg, Seq2SeqInit.initial(cfg, 11)))) {
            for (long step = 1; step <= steps; step++) {
                WorkerJob.StepResult r = job.step(step, s.schedule().at(step - 1),
                        ElasticShare.of(BATCH, 1, 1, 0, (step - 1) * BATCH));
                assertFalse(r.skipped(), "step " + step);
            }
            return job.parameters().clone();
        }
    }

    /** Two workers in two threads, each with two lanes, averaging through an in-memory exchange. */
    private static List<float[]> pair(long steps) throws Exception {
        TrainSettings s = settings();
        Exchanger<float[]> exchanger = new Exchanger<>();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            List<CompletableFuture<float[]>> ranks = new ArrayList<>();
            for (int rank = 0; rank < 2; rank++) {
                int r = rank;
                ranks.add(CompletableFuture.supplyAsync(() -> {
                    PairRows rows = new PairRows(cfg, data, BATCH, 1, 11);
                    try (WorkerJob job = new WorkerJob(s, data.tokenizer(), rows, BatchPlan.of(BATCH, 1, 2, r),
                            EngineOptions.cpu(2), new Mean(exchanger, r), null,
                            Seq2SeqRun.start(cfg, Seq2SeqInit.initial(cfg, 11)))) {
                        for (long step = 1; step <= steps; step++) {
                            WorkerJob.StepResult result = job.step(step, s.schedule().at(step - 1),
                                    ElasticShare.of(BATCH, 1, 2, r, (step - 1) * BATCH));
                            if (result.skipped()) {
                                throw new AssertionError("rank " + r + " skipped step " + step);
                            }
                        }
                        return job.parameters().clone();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, threads));
            }
            List<float[]> out = new ArrayList<>();
            for (CompletableFuture<float[]> f : ranks) {
                out.add(f.get(300, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            threads.shutdownNow();
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    /** The mean of two in-process workers' buffers, (rank 0 + rank 1) / 2 in that order on both. */
    private record Mean(Exchanger<float[]> exchanger, int rank) implements GradientReducer {
        @Override
        public void allReduceMean(FloatBuffer gradients, long step) throws ReductionException {
            float[] mine = new float[gradients.remaining()];
            gradients.duplicate().get(mine);
            float[] theirs;
            try {
                theirs = exchanger.exchange(mine, 60, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new ReductionException("the other worker did not exchange: " + e, e);
            }
            for (int i = 0; i < mine.length; i++) {
                float a = rank == 0 ? mine[i] : theirs[i];
                float b = rank == 0 ? theirs[i] : mine[i];
                gradients.put(gradients.position() + i, (a + b) * 0.5f);
            }
        }
    }
}
