package io.troupe.worker.seq2seq;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.data.pairs.LengthBucketSampler;
import io.troupe.data.pairs.PairDataset;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.DType;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqGraphs;
import io.troupe.model.seq2seq.Seq2SeqInit;
import io.troupe.worker.train.AdamW;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A local, single-process trainer for the encoder-decoder on a prepared pairs dataset: batches
 * from the {@link LengthBucketSampler} (so little of each batch is padding), one ORT session per
 * padded batch shape, AdamW with warm-up and cosine decay, global-norm clipping at 1, and the
 * validation loss (unsmoothed per-token NLL) every {@code evalInterval} steps.
 *
 * <p>Memory: every batch has exactly {@code batchSize} rows (a short last batch is filled with
 * rows that have no target), and each side's length is padded up to the next value of
 * {@link #LENGTH_LADDER}, so an epoch meets only a few shapes. Sessions run without ORT's CPU
 * arena and memory pattern: with them, each cached session kept its own peak activations
 * (mostly [B*T, V] logits and their gradients), 7-8 GB RSS for a 2 M-parameter model.
 */
public final class Seq2SeqTrainer {
    /**
     * The padded lengths a batch side may have (then capped at the model's positions): multiples
     * of 8 up to 32, then 1.5x / 1.33x steps, so a side of at most 64 tokens has 6 shapes.
     */
    static final int[] LENGTH_LADDER = {8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024};
    /** ORT sessions kept at once (one per batch shape), least recently used dropped first. */
    static final int MAX_SESSIONS = 16;

    /**
     * @param steps optimizer steps
     * @param batchSize pairs per batch
     * @param learningRate peak learning rate
     * @param warmup linear warm-up steps
     * @param evalInterval steps between validation losses
     * @param valBatches validation batches per evaluation (at most)
     * @param threads ORT intra-op threads
     */
    public record Settings(int steps, int batchSize, double learningRate, int warmup, int evalInterval, int valBatches,
                           int threads, long seed) {
        public Settings {
            if (steps < 1 || batchSize < 1 || learningRate <= 0 || warmup < 0 || evalInterval < 1 || valBatches < 1
                    || threads < 1) {
                throw new IllegalArgumentException("steps, batch, lr, eval interval, val batches and threads must be"
                        + " positive, warm-up not negative");
            }
        }
    }

    /** What a run produced. */
    public record Result(float[] params, double trainLoss, double valLoss, double msPerStep,
                         double paddingFraction) {
    }

    private final Seq2SeqConfig cfg;
    private final Settings settings;
    private final PairDataset data;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    /** Sessions by batch shape, least recently used first; each holds its own arena, so only a few are kept. */
    private final Map<String, OrtSession> sessions = new java.util.LinkedHashMap<>(16, 0.75f, true);
    private boolean stepTimes;
    /** Parameters to start from instead of the initialisation (null: fresh). */
    private float[] start;
    /** Sessions built so far, so a step's timing line can say it built one. */
    private int sessionsBuilt;

    public Seq2SeqTrainer(Seq2SeqConfig cfg, PairDataset data, Settings settings) {
        this.cfg = cfg;
        this.data = data;
        this.settings = settings;
    }

    /**
     * Makes {@link #run} also log one line per step, {@code step-time N: X ms, batch BxSxT}, with
     * {@code , new session} when the step built its ORT session: a benchmark takes the median over
     * the steps that did not. Returns this trainer.
     */
    public Seq2SeqTrainer withStepTimes(boolean on) {
        this.stepTimes = on;
        return this;
    }

    /**
     * Makes {@link #run} start from {@code start} (a trained model's parameters, of this config's
     * layout: fine-tuning) instead of a fresh initialisation; the optimizer's moments start at
     * zero. Returns this trainer.
     */
    public Seq2SeqTrainer startingFrom(float[] start) {
        if (start.length != cfg.layout().size()) {
            throw new IllegalArgumentException("the starting parameters hold " + start.length + " values but this"
                    + " config has " + cfg.layout().size());
        }
        this.start = start.clone();
        return this;
    }

    /** Trains (from a fresh initialisation unless {@link #startingFrom}), printing a line per evaluation to {@code log}. */
    public Result run(Consumer<String> log) throws OrtException {
        return run(log, (step, params) -> { });
    }

    /** Receives the parameters at every evaluation (they change after it returns: copy to keep). */
    @FunctionalInterface
    public interface EvalListener {
        void evaluated(int step, float[] params);
    }

    /**
     * Trains from a fresh initialisation, printing a line per evaluation to {@code log} and handing
     * the parameters of each evaluation to {@code listener} (for snapshots of the curve).
     */
    public Result run(Consumer<String> log, EvalListener listener) throws OrtException {
        PairDataset.Examples train = data.split(io.troupe.data.pairs.HashSplit.Part.TRAIN);
        PairDataset.Examples val = data.split(io.troupe.data.pairs.HashSplit.Part.VAL);
        ParameterLayout layout = cfg.layout();
        float[] params = start != null ? start.clone() : Seq2SeqInit.initial(cfg, settings.seed());
        float[] grads = new float[params.length];
        List<AdamW.Range> ranges = new ArrayList<>();
        for (ParameterLayout.View v : layout.views()) {
            ranges.add(AdamW.Range.forParameter(v.offset(), v.shape()));
        }
        AdamW adam = new AdamW(params.length, ranges, new AdamW.Hyperparameters(0.9, 0.98, 1e-8, 0.01));
        LengthBucketSampler sampler = new LengthBucketSampler(train.sourceLengths(), train.targetLengths(),
                settings.batchSize(), 100, settings.seed());
        List<int[]> batches = new ArrayList<>();
        int epoch = 0;
        double lossSum = 0;
        int lossCount = 0;
        double trainLoss = Double.NaN;
        double valLoss = Double.NaN;
        long realTokens = 0;
        long paddedTokens = 0;
        long nanos = 0;
        try {
            for (int step = 1; step <= settings.steps(); step++) {
                if (batches.isEmpty()) {
                    batches.addAll(sampler.epoch(epoch++));
                }
                int[] rows = batches.remove(0);
                long t0 = System.nanoTime();
                int builtBefore = sessionsBuilt;
                Batch batch = Batch.of(train, rows, settings.batchSize(), cfg, data.bosId(), data.eosId(),
                        data.padId());
                realTokens += batch.realTokens();
                paddedTokens += (long) batch.rows() * (batch.srcLen() + batch.tgtLen());
                double loss = step(batch, layout, params, grads);
                if (Double.isFinite(loss)) {
                    clip(grads, 1.0);
                    adam.update(params, grads, learningRate(step));
                    lossSum += loss;
                    lossCount++;
                }
                long stepNanos = System.nanoTime() - t0;
                nanos += stepNanos;
                if (stepTimes) {
                    log.accept(String.format(java.util.Locale.ROOT, "step-time %d: %.3f ms, batch %dx%dx%d%s", step,
                            stepNanos / 1e6, batch.rows(), batch.srcLen(), batch.tgtLen(),
                            sessionsBuilt > builtBefore ? ", new session" : ""));
                }
                if (step % settings.evalInterval() == 0 || step == settings.steps()) {
                    trainLoss = lossSum / Math.max(1, lossCount);
                    lossSum = 0;
                    lossCount = 0;
                    valLoss = validationLoss(val, params);
                    log.accept(String.format("step %d/%d: train loss %.4f, val loss %.4f (ppl %.2f), %.0f ms/step",
                            step, settings.steps(), trainLoss, valLoss, Math.exp(valLoss),
                            nanos / 1e6 / step));
                    listener.evaluated(step, params);
                }
            }
        } finally {
            for (OrtSession s : sessions.values()) {
                s.close();
            }
            sessions.clear();
        }
        return new Result(params, trainLoss, valLoss, nanos / 1e6 / settings.steps(),
                1.0 - (double) realTokens / Math.max(1, paddedTokens));
    }

    /** Warm-up to the peak, then cosine decay to a tenth of it. */
    double learningRate(int step) {
        double peak = settings.learningRate();
        if (step <= settings.warmup()) {
            return peak * step / Math.max(1, settings.warmup());
        }
        double progress = (double) (step - settings.warmup()) / Math.max(1, settings.steps() - settings.warmup());
        return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
    }

    private double step(Batch batch, ParameterLayout layout, float[] params, float[] grads) throws OrtException {
        OrtSession session = session(batch, true);
        Map<String, OnnxTensor> feeds = feeds(batch, layout, params);
        try (OrtSession.Result r = session.run(feeds)) {
            double loss = ((OnnxTensor) r.get(Seq2SeqGraphs.LOSS).orElseThrow()).getFloatBuffer().get(0);
            for (ParameterLayout.View v : layout.views()) {
                FloatBuffer g = ((OnnxTensor) r.get(Seq2SeqGraphs.gradientName(v.name())).orElseThrow())
                        .getFloatBuffer();
                g.get(grads, (int) v.offset(), (int) v.length());
            }
            return loss;
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Mean unsmoothed NLL per real target token over the first validation batches. */
    private double validationLoss(PairDataset.Examples val, float[] params) throws OrtException {
        LengthBucketSampler sampler = new LengthBucketSampler(val.sourceLengths(), val.targetLengths(),
                settings.batchSize(), 100, 0);
        List<int[]> batches = sampler.epoch(0);
        ParameterLayout layout = cfg.layout();
        double nll = 0;
        double tokens = 0;
        for (int i = 0; i < Math.min(settings.valBatches(), batches.size()); i++) {
            Batch batch = Batch.of(val, batches.get(i), settings.batchSize(), cfg, data.bosId(), data.eosId(),
                    data.padId());
            Map<String, OnnxTensor> feeds = feeds(batch, layout, params);
            try (OrtSession.Result r = session(batch, false).run(feeds)) {
                nll += ((OnnxTensor) r.get(Seq2SeqGraphs.NLL_SUM).orElseThrow()).getFloatBuffer().get(0);
                tokens += ((OnnxTensor) r.get(Seq2SeqGraphs.TOKEN_COUNT).orElseThrow()).getFloatBuffer().get(0);
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
        }
        return nll / Math.max(1, tokens);
    }

    private OrtSession session(Batch batch, boolean training) throws OrtException {
        String key = (training ? "train " : "eval ") + batch.rows() + "x" + batch.srcLen() + "x" + batch.tgtLen();
        OrtSession s = sessions.get(key);
        if (s == null) {
            Seq2SeqGraphs.Built built = training
                    ? Seq2SeqGraphs.training(cfg, batch.rows(), batch.srcLen(), batch.tgtLen(), DType.FLOAT, settings.seed())
                    : Seq2SeqGraphs.evaluation(cfg.withDropout(0), batch.rows(), batch.srcLen(), batch.tgtLen(),
                            DType.FLOAT);
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(settings.threads());
            // Without these every cached session keeps its peak activations after a run.
            options.setCPUArenaAllocator(false);
            options.setMemoryPatternOptimization(false);
            if (sessions.size() >= MAX_SESSIONS) {
                var eldest = sessions.entrySet().iterator();
                eldest.next().getValue().close();
                eldest.remove();
            }
            s = env.createSession(built.toBytes(), options);
            sessions.put(key, s);
            sessionsBuilt++;
        }
        return s;
    }

    private Map<String, OnnxTensor> feeds(Batch batch, ParameterLayout layout, float[] params) throws OrtException {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        for (ParameterLayout.View v : layout.views()) {
            feeds.put(v.name(), OnnxTensor.createTensor(env,
                    FloatBuffer.wrap(params, (int) v.offset(), (int) v.length()).slice(), v.shape()));
        }
        int b = batch.rows();
        feeds.put(Seq2SeqGraphs.SRC, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.src()),
                new long[] {b, batch.srcLen()}));
        feeds.put(Seq2SeqGraphs.SRC_LENGTHS, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.srcLengths()),
                new long[] {b}));
        feeds.put(Seq2SeqGraphs.TGT_IN, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.tgtIn()),
                new long[] {b, batch.tgtLen()}));
        feeds.put(Seq2SeqGraphs.TARGETS, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.targets()),
                new long[] {b, batch.tgtLen()}));
        return feeds;
    }

    private static void clip(float[] grads, double maxNorm) {
        double sq = 0;
        for (float g : grads) {
            sq += (double) g * g;
        }
        double norm = Math.sqrt(sq);
        if (norm > maxNorm) {
            float scale = (float) (maxNorm / norm);
            for (int i = 0; i < grads.length; i++) {
                grads[i] *= scale;
            }
        }
    }

    /**
     * One padded batch of {@code rows} rows: sources truncated to the model's positions; the decoder
     * reads BOS then the target, and predicts the target then EOS; padding is the pad id on the
     * inputs and {@link Seq2SeqGraphs#IGNORE} on the targets. Rows past {@code rowIds} (a short last
     * batch) hold one pad source token and no target, so they add nothing to the loss or gradients.
     */
    record Batch(int rows, int srcLen, int tgtLen, long[] src, long[] srcLengths, long[] tgtIn, long[] targets,
                 long realTokens) {
        static Batch of(PairDataset.Examples examples, int[] rowIds, int rows, Seq2SeqConfig cfg, int bos, int eos,
                        int pad) {
            if (rowIds.length > rows) {
                throw new IllegalArgumentException(rowIds.length + " examples do not fit a batch of " + rows);
            }
            int b = rows;
            int maxS = 1;
            int maxT = 1;
            for (int row : rowIds) {
                maxS = Math.max(maxS, Math.min(cfg.maxSource(), examples.source(row).length));
                maxT = Math.max(maxT, Math.min(cfg.maxTarget(), examples.target(row).length + 1));
            }
            int s = Math.min(cfg.maxSource(), padded(maxS));
            int t = Math.min(cfg.maxTarget(), padded(maxT));
            long[] src = new long[b * s];
            long[] lengths = new long[b];
            long[] tgtIn = new long[b * t];
            long[] targets = new long[b * t];
            java.util.Arrays.fill(src, pad);
            java.util.Arrays.fill(tgtIn, pad);
            java.util.Arrays.fill(targets, Seq2SeqGraphs.IGNORE);
            long real = 0;
            java.util.Arrays.fill(lengths, 1);       // filler rows: one pad token, nothing to predict
            for (int i = 0; i < rowIds.length; i++) {
                int[] source = examples.source(rowIds[i]);
                int n = Math.max(1, Math.min(s, source.length));
                for (int j = 0; j < Math.min(n, source.length); j++) {
                    src[i * s + j] = source[j];
                }
                lengths[i] = n;
                int[] target = examples.target(rowIds[i]);
                int m = Math.min(t - 1, target.length);  // target tokens kept; EOS makes m + 1 predictions
                tgtIn[i * t] = bos;
                for (int j = 0; j < m; j++) {
                    tgtIn[i * t + j + 1] = target[j];
                    targets[i * t + j] = target[j];
                }
                targets[i * t + m] = eos;
                real += n + m + 1;
            }
            return new Batch(b, s, t, src, lengths, tgtIn, targets, real);
        }

        /** The first ladder length that holds {@code n} tokens. */
        static int padded(int n) {
            for (int step : LENGTH_LADDER) {
                if (step >= n) {
                    return step;
                }
            }
            return n;
        }
    }
}
