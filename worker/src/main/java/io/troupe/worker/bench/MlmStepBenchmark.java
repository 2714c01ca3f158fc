package io.troupe.worker.bench;

import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.job.BatchPlan;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.GradientReducer;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.train.TrainSettings;
import java.util.Arrays;

/**
 * Times the whole MLM training step of an encoder ({@code arch = bert}) as {@code train} runs it:
 * {@link WorkerJob#step} on the sample order's rows, masking, forward, loss, every gradient,
 * clipping and AdamW. What a PyTorch step of forward, backward, clip and optimizer.step() does.
 */
public final class MlmStepBenchmark {
    private MlmStepBenchmark() {
    }

    /**
     * @param ms the median step time in milliseconds
     * @param tokensPerSecond B * T / median step
     * @param parameters trained parameters
     */
    public record Result(double ms, double tokensPerSecond, long parameters) {
    }

    /** Runs {@code warmups} untimed and {@code runs} timed steps; returns the median of the timed ones. */
    public static Result run(TrainSettings settings, Tokenizer tokenizer, TokenSplit data, int threads, int warmups,
                             int runs) throws EngineException {
        if (!settings.isEncoder()) {
            throw new IllegalArgumentException("the MLM step benchmark needs arch = bert settings");
        }
        int b = settings.batchSize();
        BatchPlan plan = BatchPlan.of(b, settings.gradAccum(), 1, 0);
        double[] times = new double[runs];
        try (WorkerJob job = new WorkerJob(settings, tokenizer, data, plan, EngineOptions.cpu(threads),
                GradientReducer.LOCAL, null)) {
            for (int s = 1; s <= warmups + runs; s++) {
                long t0 = System.nanoTime();
                job.step(s, settings.learningRate(), ElasticShare.of(b, settings.gradAccum(), 1, 0, (long) (s - 1) * b));
                if (s > warmups) {
                    times[s - warmups - 1] = (System.nanoTime() - t0) / 1e6;
                }
            }
            Arrays.sort(times);
            double median = times[runs / 2];
            return new Result(median, b * settings.blockSize() / (median / 1000), job.parameters().length);
        } catch (ReductionException e) {
            throw new IllegalStateException("a one-worker job has no peers to fail", e);
        }
    }
}
