package io.troupe.worker.seq2seq;

import io.troupe.data.pairs.HashSplit;
import io.troupe.data.pairs.LengthBucketSampler;
import io.troupe.data.pairs.PairDataset;
import io.troupe.model.graph.DType;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqGraphs;
import io.troupe.worker.engine.BatchParallelEngine;
import io.troupe.worker.engine.EngineException;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * An encoder-decoder's rows on {@code WorkerJob}'s step path: the pairs dataset, how the global
 * sample numbers of a share become padded source/target rows, the training graph of a batch
 * shape, and the evaluation (unsmoothed per-token NLL on train and val batches).
 *
 * <p>The sample order is the length-bucketed batch order ({@link LengthBucketSampler}, batches
 * of the job's global batch size, seeded per epoch): sample {@code s} is row {@code s mod B} of
 * batch {@code s / B} of the epoch's concatenated batches, a pure function of (seed, s). The one
 * short batch of an epoch keeps its place: its missing rows are filler samples (one pad source
 * token, nothing to predict). A step's samples are one global batch, so a worker's contiguous
 * slice of it is of one length bucket and pads little; it is padded to the ladder shape of its
 * own longest row ({@link Seq2SeqBatch}), so workers and lanes of one step may run different
 * shapes.
 *
 * <p>The loss of a batch is a mean over its real target tokens. {@link #targetTokens} lets
 * every worker count the tokens of the whole global batch and of each of its lanes, so the job
 * weighs each lane by its share of the step's tokens and the step's gradient is the token-weighted
 * mean over the global batch, as the single-session trainer computed it.
 */
public final class PairRows implements AutoCloseable {
    /** The training graph's batch inputs: src [rows, S], src_lengths [rows], tgt_in and targets [rows, T]. */
    public static final List<String> INPUTS = List.of(Seq2SeqGraphs.SRC, Seq2SeqGraphs.SRC_LENGTHS,
            Seq2SeqGraphs.TGT_IN, Seq2SeqGraphs.TARGETS);
    /** Sorted pools of this many batches (the trainer's choice: 2% padding on Tatoeba, still shuffled). */
    static final int POOL_BATCHES = 100;

    private final Seq2SeqConfig cfg;
    private final PairDataset data;
    private final PairDataset.Examples train;
    private final PairDataset.Examples val;
    private final int globalBatch;
    private final int evalBatches;
    private final LengthBucketSampler sampler;
    private final int batchesPerEpoch;
    /**
     * The batch order of the last two epochs asked for (an epoch sorts every training pair): the
     * training epoch and epoch 0, which evaluation reads, without sorting either again each time.
     */
    private final java.util.LinkedHashMap<Integer, List<int[]>> epochs = new java.util.LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Integer, List<int[]>> eldest) {
            return size() > 2;
        }
    };
    private Seq2SeqEvaluator evaluator;

    /**
     * @param globalBatch the job's batch size: the sampler's batches are global batches
     * @param evalBatches batches of each split an evaluation scores (at most)
     * @param seed the run's seed (the sampler's shuffles)
     */
    public PairRows(Seq2SeqConfig cfg, PairDataset data, int globalBatch, int evalBatches, long seed) {
        if (data.tokenizer().vocabSize() != cfg.vocabSize()) {
            throw new IllegalArgumentException("the pairs' tokenizer has " + data.tokenizer().vocabSize()
                    + " tokens but the model's vocabulary is " + cfg.vocabSize());
        }
        this.cfg = cfg;
        this.data = data;
        this.train = data.split(HashSplit.Part.TRAIN);
        this.val = data.split(HashSplit.Part.VAL);
        if (train.size() == 0) {
            throw new IllegalArgumentException("the pairs dataset has no training pairs");
        }
        this.globalBatch = globalBatch;
        this.evalBatches = evalBatches;
        this.sampler = new LengthBucketSampler(train.sourceLengths(), train.targetLengths(), globalBatch, POOL_BATCHES,
                seed);
        // Pools hold whole batches, so only the last pool ends in a short batch.
        this.batchesPerEpoch = (train.size() + globalBatch - 1) / globalBatch;
    }

    public Seq2SeqConfig config() {
        return cfg;
    }

    public PairDataset data() {
        return data;
    }

    /** Samples in one epoch: every batch counted at the full global batch (filler rows included). */
    public long samplesPerEpoch() {
        return (long) batchesPerEpoch * globalBatch;
    }

    /** The train example of sample {@code s}, or -1 for a filler row of the epoch's short batch. */
    public synchronized int example(long s) {
        long perEpoch = samplesPerEpoch();
        int epoch = Math.toIntExact(s / perEpoch);
        long position = s % perEpoch;
        int[] batch = epochs.computeIfAbsent(epoch, sampler::epoch).get((int) (position / globalBatch));
        int row = (int) (position % globalBatch);
        return row < batch.length ? batch[row] : -1;
    }

    /** Samples {@code first .. first+rows} as a padded batch (filler rows last, as they are in the order). */
    public Seq2SeqBatch batch(long first, int rows) {
        return Seq2SeqBatch.of(train, examples(first, rows), rows, cfg, data.bosId(), data.eosId(), data.padId());
    }

    /** Target positions in the loss over samples {@code first .. first+rows}. */
    public long targetTokens(long first, int rows) {
        long n = 0;
        for (int e : examples(first, rows)) {
            n += Seq2SeqBatch.predictions(train.target(e).length, cfg);
        }
        return n;
    }

    /** The real examples of samples {@code first .. first+rows}, in order. */
    private int[] examples(long first, int rows) {
        int[] ids = new int[rows];
        int n = 0;
        for (int r = 0; r < rows; r++) {
            int e = example(first + r);
            if (e >= 0) {
                ids[n++] = e;
            }
        }
        return java.util.Arrays.copyOf(ids, n);
    }

    /** The serialized training graph of {@code rows} rows of {@code srcLen} x {@code tgtLen}. */
    public byte[] training(int rows, int srcLen, int tgtLen, long dropoutSeed) {
        return Seq2SeqGraphs.training(cfg, rows, srcLen, tgtLen, DType.FLOAT, dropoutSeed).toBytes();
    }

    /** Copies {@code batch} into {@code engine}'s batch inputs (an engine of the batch's shape). */
    public static void fill(BatchParallelEngine engine, Seq2SeqBatch batch) {
        put(engine.batch(Seq2SeqGraphs.SRC), batch.src());
        put(engine.batch(Seq2SeqGraphs.SRC_LENGTHS), batch.srcLengths());
        put(engine.batch(Seq2SeqGraphs.TGT_IN), batch.tgtIn());
        put(engine.batch(Seq2SeqGraphs.TARGETS), batch.targets());
    }

    private static void put(LongBuffer to, long[] values) {
        if (to.remaining() != values.length) {
            throw new IllegalStateException("an engine input of " + to.remaining() + " values for a batch of "
                    + values.length);
        }
        to.put(values);
    }

    /** Builds the evaluation sessions' factory; call once before {@link #evaluate}. */
    public void prepareEvaluation(int threads) {
        evaluator = new Seq2SeqEvaluator(cfg, threads);
    }

    /**
     * The unsmoothed per-token NLL of {@code params} on this worker's part of the first
     * evaluation batches of the training data (every {@code workers}-th from {@code rank}, of
     * epoch 0's order; one of them when there are fewer than workers) and on the first evaluation batches of the val split (every worker the
     * same; the val order is the sampler's at seed 0, as the local trainer had it).
     *
     * @return {train NLL, val NLL}
     */
    public double[] evaluate(float[] params, int rank, int workers) throws EngineException {
        List<Seq2SeqBatch> trainBatches = new ArrayList<>();
        int scored = Math.min(evalBatches, batchesPerEpoch);
        for (int b = rank; b < scored; b += workers) {
            trainBatches.add(batch((long) b * globalBatch, globalBatch));
        }
        if (trainBatches.isEmpty()) {
            // More workers than evaluation batches: score one of them again rather than report NaN.
            trainBatches.add(batch((long) (rank % scored) * globalBatch, globalBatch));
        }
        double trainNll = evaluator.nll(params, trainBatches);
        return new double[] {trainNll, validationLoss(params)};
    }

    /** Mean unsmoothed NLL per real target token over the first evaluation batches of the val split. */
    public double validationLoss(float[] params) throws EngineException {
        List<int[]> order = new LengthBucketSampler(val.sourceLengths(), val.targetLengths(), globalBatch,
                POOL_BATCHES, 0).epoch(0);
        List<Seq2SeqBatch> batches = new ArrayList<>();
        for (int i = 0; i < Math.min(evalBatches, order.size()); i++) {
            batches.add(Seq2SeqBatch.of(val, order.get(i), globalBatch, cfg, data.bosId(), data.eosId(),
                    data.padId()));
        }
        return evaluator.nll(params, batches);
    }

    @Override
    public void close() {
        if (evaluator != null) {
            evaluator.close();
        }
    }
}
