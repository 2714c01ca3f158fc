package io.troupe.worker.seq2seq;

import io.troupe.data.pairs.PairDataset;
import io.troupe.model.gpt.Trainable;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.job.BatchPlan;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.GradientReducer;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.train.LearningRateSchedule;
import io.troupe.worker.train.NonFiniteSteps;
import io.troupe.worker.train.TrainingDivergedException;
import io.troupe.worker.train.TrainSettings;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Trains an encoder-decoder on one process: a one-worker {@link WorkerJob} over {@link PairRows},
 * stepped with the share {@code ElasticShare.of(B, 1, 1, 0, (s-1)B)}, as every local run on
 * the one step path (the same sample order, lanes, clipping, AdamW and non-finite rule as a
 * job of N workers). Around the steps it does what {@code train-seq2seq} prints: a line per
 * evaluation (the mean training loss since the last one and the val NLL), optional per-step
 * times, and the padding fraction of the batches trained.
 */
public final class Seq2SeqRun {
    /** What a run produced. */
    public record Result(float[] params, double trainLoss, double valLoss, double msPerStep,
                         double paddingFraction) {
    }

    /** Receives the parameters at every evaluation (they change after it returns: copy to keep). */
    @FunctionalInterface
    public interface EvalListener {
        void evaluated(int step, float[] params);
    }

    private Seq2SeqRun() {
    }

    /**
     * The job settings of an encoder-decoder run: AdamW (0.9, 0.98, weight decay 0.01 on
     * matrices), global-norm clipping at 1, linear warm-up then cosine decay to a tenth of the
     * peak at the last step (nanoGPT's schedule; a warm-up longer than the run just ramps), no
     * gradient accumulation, ORT's arena off (a run meets several
     * batch shapes; an idle engine must not keep its activations). The GPT fields are unused.
     *
     * @param evalBatches batches of each split an evaluation scores
     */
    public static TrainSettings settings(long steps, int batchSize, double learningRate, long warmup,
                                         long evalInterval, int evalBatches, long seed) {
        if (steps < 1 || batchSize < 1 || !(learningRate > 0) || warmup < 0 || evalInterval < 1 || evalBatches < 1) {
            throw new IllegalArgumentException("steps, batch, lr, eval interval and val batches must be positive,"
                    + " warm-up not negative");
        }
        Map<String, String> m = new LinkedHashMap<>();
        m.put("batch_size", String.valueOf(batchSize));
        m.put("grad_accum", "1");
        m.put("max_iters", String.valueOf(steps));
        m.put("learning_rate", String.valueOf(learningRate));
        m.put("min_lr", String.valueOf(learningRate / 10));
        m.put("warmup_iters", String.valueOf(warmup));
        // A warm-up longer than the run never reaches the peak and never decays, as the old loop had it.
        m.put("lr_decay_iters", String.valueOf(Math.max(steps, warmup)));
        m.put("beta1", "0.9");
        m.put("beta2", "0.98");
        m.put("weight_decay", "0.01");
        m.put("grad_clip", "1.0");
        m.put("eval_interval", String.valueOf(evalInterval));
        m.put("eval_iters", String.valueOf(evalBatches));
        m.put("seed", String.valueOf(seed));
        m.put("ort_arena", "false");
        try {
            return TrainSettings.load(null, m);
        } catch (io.troupe.worker.train.SettingsException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** The starting point of a model whose parameters all train. */
    public static StartingPoint start(Seq2SeqConfig cfg, float[] params) {
        return new StartingPoint(params.clone(), Trainable.all(cfg.layout()));
    }

    /**
     * Trains from {@code start} (a fresh {@code Seq2SeqInit.initial} or a trained model's
     * parameters; the AdamW moments start at zero), logging to {@code log}.
     *
     * @param threads the worker's threads: that many single-thread lanes split each batch's rows
     * @param stepTimes also log {@code step-time N: X ms, batch BxSxT[, new session]} per step
     */
    public static Result run(Seq2SeqConfig cfg, PairDataset data, TrainSettings settings, float[] start, int threads,
                             boolean stepTimes, Consumer<String> log, EvalListener listener)
            throws EngineException, ReductionException {
        int batch = settings.batchSize();
        long steps = settings.maxIters();
        LearningRateSchedule schedule = settings.schedule();
        PairRows rows = new PairRows(cfg, data, batch, settings.evalIters(), settings.seed());
        double lossSum = 0;
        int lossCount = 0;
        NonFiniteSteps nonFinite = NonFiniteSteps.of(settings);
        double trainLoss = Double.NaN;
        double valLoss = Double.NaN;
        long realTokens = 0;
        long paddedTokens = 0;
        long nanos = 0;
        try (WorkerJob job = new WorkerJob(settings, data.tokenizer(), rows, BatchPlan.of(batch, 1, 1, 0),
                EngineOptions.cpu(threads), GradientReducer.LOCAL, null, start(cfg, start))) {
            for (int step = 1; step <= steps; step++) {
                long first = (long) (step - 1) * batch;
                Seq2SeqBatch shape = rows.batch(first, batch);
                realTokens += shape.realTokens();
                paddedTokens += (long) shape.rows() * (shape.srcLen() + shape.tgtLen());
                int builtBefore = job.shapeEnginesBuilt();
                long t0 = System.nanoTime();
                WorkerJob.StepResult r = job.step(step, schedule.at(step - 1),
                        ElasticShare.of(batch, 1, 1, 0, first));
                long stepNanos = System.nanoTime() - t0;
                nanos += stepNanos;
                if (nonFinite.record(r.skipped())) {
                    // The step path's rule, as a local GPT run has it; this run keeps no checkpoints.
                    throw new TrainingDivergedException(nonFinite.divergedMessage(step, "none (train-seq2seq keeps"
                            + " none)").replace("then resume", "then start again"));
                }
                if (!r.skipped()) {
                    lossSum += r.loss();
                    lossCount++;
                }
                if (stepTimes) {
                    log.accept(String.format(Locale.ROOT, "step-time %d: %.3f ms, batch %dx%dx%d%s", step,
                            stepNanos / 1e6, shape.rows(), shape.srcLen(), shape.tgtLen(),
                            job.shapeEnginesBuilt() > builtBefore ? ", new session" : ""));
                }
                if (step % settings.evalInterval() == 0 || step == steps) {
                    trainLoss = lossSum / Math.max(1, lossCount);
                    lossSum = 0;
                    lossCount = 0;
                    valLoss = rows.validationLoss(job.parameters());
                    log.accept(String.format("step %d/%d: train loss %.4f, val loss %.4f (ppl %.2f), %.0f ms/step",
                            step, steps, trainLoss, valLoss, Math.exp(valLoss), nanos / 1e6 / step));
                    listener.evaluated(step, job.parameters());
                }
            }
            return new Result(job.parameters().clone(), trainLoss, valLoss, nanos / 1e6 / steps,
                    1.0 - (double) realTokens / Math.max(1, paddedTokens));
        }
    }

    /**
     * The padding fraction of the first {@code steps} global batches of {@code rows}' order (what
     * a run of that many steps trains, whichever way workers split it): padded slots over all
     * slots, source and target, each batch padded to its ladder shape.
     */
    public static double paddingFraction(PairRows rows, int batch, long steps) {
        long real = 0;
        long padded = 0;
        for (long s = 0; s < steps; s++) {
            Seq2SeqBatch b = rows.batch(s * batch, batch);
            real += b.realTokens();
            padded += (long) b.rows() * (b.srcLen() + b.tgtLen());
        }
        return 1.0 - (double) real / Math.max(1, padded);
    }
}
