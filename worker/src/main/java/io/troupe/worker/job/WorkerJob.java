package io.troupe.worker.job;

import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.graph.DType;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.engine.BatchParallelEngine;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.engine.FlatLayout;
import io.troupe.worker.engine.StepEngine;
import io.troupe.worker.train.AdamW;
import io.troupe.worker.train.BatchSampler;
import io.troupe.worker.train.GradientClipper;
import io.troupe.worker.train.TrainSettings;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * One worker's share of a data-parallel training job: its engines, its copy of the
 * parameters and optimizer state, and its samplers over its own partition of the data. Every
 * optimizer step it computes gradients on its rows, averages them with the other workers
 * through a {@link GradientReducer}, clips and applies the same AdamW update as every other
 * worker, so the parameters stay identical everywhere.
 *
 * <p>A one-worker job with {@link GradientReducer#LOCAL} is plain single-machine training.
 */
public final class WorkerJob implements AutoCloseable {
    /** Extra checkpoint state keys. */
    static final String EVAL_TRAIN_RNG = "eval_train_sampler";
    static final String EVAL_VAL_RNG = "eval_val_sampler";

    private final TrainSettings settings;
    private final Tokenizer tokenizer;
    private final BatchPlan plan;
    private final GptConfig model;
    private final ParameterLayout layout;
    private GradientReducer reducer;
    private final BatchParallelEngine train;
    /** Engines by micro-batch rows: an elastic job's share changes with the number of workers. */
    private final Map<Integer, BatchParallelEngine> trainEngines = new java.util.HashMap<>();
    private final Map<BatchParallelEngine, Long> engineParamVersions = new java.util.HashMap<>();
    private final EngineBuilder engineFactory;
    private final TokenSplit data;
    private SampleOrder sampleOrder;
    private long paramVersion;
    private double restoredBestValLoss = Double.POSITIVE_INFINITY;
    private final StepEngine eval;
    private final AdamW adam;
    private final GradientClipper clipper;
    private final BatchSampler trainSampler;
    private final BatchSampler evalTrainSampler;
    private final BatchSampler evalValSampler;
    private final float[] params;
    private final float[] grads;
    private float[] microGrads;
    private final FloatBuffer reduceBuffer;
    private double lastComputeMillis;
    private double lastReduceMillis;

    /**
     * Builds the engines and the initial state: GPT-2 initialisation from the seed, or the
     * state of a checkpoint.
     *
     * @param data the full train/val split; this worker samples from its partition of it
     * @param resumeFrom a checkpoint of the same job shape to continue from, or null
     */
    public WorkerJob(TrainSettings settings, Tokenizer tokenizer, TokenSplit data, BatchPlan plan,
                     EngineOptions engineOptions, GradientReducer reducer, Checkpoint resumeFrom)
            throws EngineException {
        this.settings = settings;
        this.tokenizer = tokenizer;
        this.plan = plan;
        this.reducer = reducer;
        this.data = data;
        this.model = settings.model(tokenizer.vocabSize());
        this.layout = ParameterLayout.of(model);
        int t = settings.blockSize();
        FlatLayout flat = flatLayout(layout);
        // ORT's Dropout derives each run's mask from (seed attribute + runs of this session), and
        // the session is new after a resume: start the seed where the interrupted run's left off.
        long sessionRunsSoFar = resumeFrom == null ? 0 : resumeFrom.trainingStep() * plan.accumulation();
        long dropoutSeed = settings.seed() + 7919L * plan.rank() + sessionRunsSoFar;
        TrainingGraph evalGraph = GptGraphs.evaluation(model, plan.microBatch(), t, DType.FLOAT);
        int size = Math.toIntExact(layout.size());
        this.params = ParameterInit.gpt2(model, layout, settings.seed());
        this.grads = new float[size];
        this.adam = new AdamW(size, decayRanges(layout),
                new AdamW.Hyperparameters(settings.beta1(), settings.beta2(), 1e-8, settings.weightDecay()));
        this.clipper = new GradientClipper(settings.gradClip());
        TokenSequence trainPart = partition(data.train(), plan.workers(), plan.rank(), t);
        long seed = rankSeed(settings.seed(), plan.rank());
        this.trainSampler = new BatchSampler(trainPart, plan.microBatch(), t, seed);
        this.evalTrainSampler = new BatchSampler(trainPart, plan.microBatch(), t, seed ^ 0x5DEECE66DL);
        this.evalValSampler = new BatchSampler(data.val(), plan.microBatch(), t, seed ^ 0xBB67AE8584CAA73BL);
        // Lanes of one thread each split the micro-batch; lane l's Dropout seeds are 104729 * l apart.
        this.engineFactory = microBatch -> {
            // Other micro-batch sizes get their own dropout seed range, 7 * 10^9 apart.
            long sizeSeed = dropoutSeed + (microBatch == plan.microBatch() ? 0 : 7_000_000_007L * microBatch);
            return BatchParallelEngine.create(
                    (lane, rows) -> GptGraphs.training(model, rows, t, DType.FLOAT, sizeSeed + 104_729L * lane).toBytes(),
                    flat, engineOptions, microBatch, t, List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS));
        };
        BatchParallelEngine trainEngine = BatchParallelEngine.create(
                (lane, rows) -> GptGraphs.training(model, rows, t, DType.FLOAT, dropoutSeed + 104_729L * lane).toBytes(),
                flat, engineOptions, plan.microBatch(), t, List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS));
        try {
            this.eval = StepEngine.create(evalGraph.toBytes(), flat, engineOptions);
        } catch (RuntimeException e) {
            trainEngine.close();
            throw e;
        }
        this.train = trainEngine;
        trainEngines.put(plan.microBatch(), trainEngine);
        this.reduceBuffer = java.nio.ByteBuffer.allocateDirect(size * Float.BYTES)
                .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        if (resumeFrom != null) {
            restore(resumeFrom);
        }
        train.setParameters(params);
        engineParamVersions.put(train, paramVersion);
    }

    /** The engine's view of a model layout: the same names, offsets and shapes. */
    public static FlatLayout flatLayout(ParameterLayout layout) {
        FlatLayout.Packer packer = FlatLayout.packer();
        for (ParameterLayout.View v : layout.views()) {
            packer.add(v.name(), v.shape());
        }
        return packer.build();
    }

    private static List<AdamW.Range> decayRanges(ParameterLayout layout) {
        List<AdamW.Range> ranges = new ArrayList<>();
        for (ParameterLayout.View v : layout.views()) {
            ranges.add(new AdamW.Range(Math.toIntExact(v.offset()), Math.toIntExact(v.length()), v.decay()));
        }
        return ranges;
    }

    /** Rank 0 keeps the run's seed, so a one-worker job samples exactly as local training. */
    static long rankSeed(long seed, int rank) {
        return rank == 0 ? seed : seed + 0x9E3779B97F4A7C15L * rank;
    }

    /**
     * Worker {@code rank}'s contiguous share of the training tokens. Shares overlap by T tokens
     * so every window of the split belongs to some share.
     */
    static TokenSequence partition(TokenSequence tokens, int workers, int rank, int blockSize) {
        if (workers == 1) {
            return tokens;
        }
        long n = tokens.length();
        long from = n * rank / workers;
        long to = Math.min(n, n * (rank + 1) / workers + blockSize);
        if (to - from < blockSize + 1) {
            throw new IllegalArgumentException("the training split (" + n + " tokens) is too small to share among "
                    + workers + " workers with block_size " + blockSize);
        }
        return tokens.slice(from, to);
    }

    public BatchPlan plan() {
        return plan;
    }

    public GptConfig model() {
        return model;
    }

    public ParameterLayout layout() {
        return layout;
    }

    /** The parameters (the optimizer's copy); do not modify. */
    public float[] parameters() {
        return params;
    }

    /** Milliseconds of forward+backward in the last step. */
    public double lastComputeMillis() {
        return lastComputeMillis;
    }

    /** Milliseconds of gradient all-reduce in the last step. */
    public double lastReduceMillis() {
        return lastReduceMillis;
    }

    /**
     * One optimizer step: micro-steps on this worker's rows, all-reduce, clip, AdamW.
     *
     * @return {mean loss over this worker's rows, global gradient norm before clipping}
     */
    public double[] step(long step, double lr) throws EngineException, ReductionException {
        double loss = gradients(train, plan.accumulation(), plan.gradientWeight(), plan.workers(), step,
                (m, tokens, targets) -> trainSampler.next(tokens, targets));
        double norm = clipper.clip(grads);
        adam.update(params, grads, lr);
        paramVersion++;
        train.setParameters(params);
        engineParamVersions.put(train, paramVersion);
        return new double[] {loss, norm};
    }

    /**
     * One optimizer step of an elastic job on exactly the samples the coordinator assigned:
     * micro-steps over {@code share}'s rows, all-reduce, then, if the averaged gradient is
     * finite, clip and AdamW. A non-finite gradient (the same on every worker after the
     * all-reduce) leaves the parameters untouched, so every worker skips the step alike.
     */
    public ElasticStepResult step(long step, double lr, ElasticShare share) throws EngineException, ReductionException {
        BatchParallelEngine engine = engineFor(share.microBatch());
        SampleOrder order = sampleOrder();
        double loss = gradients(engine, share.accumulation(), share.gradientWeight(), share.workers(), step,
                (m, tokens, targets) -> order.fill(share.sampleFrom() + (long) m * share.microBatch(),
                        share.microBatch(), tokens, targets));
        // The clipper computes the global norm anyway and leaves a non-finite gradient untouched.
        double norm = clipper.clip(grads);
        if (!Double.isFinite(norm)) {
            return new ElasticStepResult(loss, norm, true);
        }
        adam.update(params, grads, lr);
        paramVersion++;
        return new ElasticStepResult(loss, norm, false);
    }

    /** Writes micro-step {@code m}'s inputs and targets into the engine's batch buffers. */
    @FunctionalInterface
    private interface BatchFiller {
        void fill(int m, java.nio.LongBuffer tokens, java.nio.LongBuffer targets);
    }

    /**
     * The step's gradient in {@link #grads}: {@code accumulation} micro-steps summed, scaled by
     * {@code weight / accumulation} (this worker's share of the global mean), and averaged over
     * the workers. Records the compute and all-reduce times.
     *
     * @return the mean loss over the micro-steps
     */
    private double gradients(BatchParallelEngine engine, int accumulation, float weight, int workers, long step,
                             BatchFiller filler) throws EngineException, ReductionException {
        long t0 = System.nanoTime();
        double loss = 0;
        float[] micro = accumulation > 1 ? microBuffer() : grads;
        for (int m = 0; m < accumulation; m++) {
            filler.fill(m, engine.batch(TrainingGraph.TOKENS), engine.batch(TrainingGraph.TARGETS));
            loss += engine.step(m == 0 ? grads : micro);
            if (m > 0) {
                for (int i = 0; i < grads.length; i++) {
                    grads[i] += micro[i];
                }
            }
        }
        float scale = weight / accumulation;
        if (scale != 1f) {
            for (int i = 0; i < grads.length; i++) {
                grads[i] *= scale;
            }
        }
        long t1 = System.nanoTime();
        if (workers > 1) {
            reduceBuffer.put(0, grads);
            reducer.allReduceMean(reduceBuffer, step);
            reduceBuffer.get(0, grads);
        }
        long t2 = System.nanoTime();
        lastComputeMillis = (t1 - t0) / 1e6;
        lastReduceMillis = (t2 - t1) / 1e6;
        return loss / accumulation;
    }

    /** The buffer micro-steps after the first write their gradients into, allocated on first use. */
    private float[] microBuffer() {
        if (microGrads == null) {
            microGrads = new float[grads.length];
        }
        return microGrads;
    }

    /** Builds the training engine for one micro-batch size. */
    @FunctionalInterface
    private interface EngineBuilder {
        BatchParallelEngine build(int microBatch) throws EngineException;
    }

    /** The loss and gradient norm of an elastic step, and whether its update was skipped. */
    public record ElasticStepResult(double loss, double gradNorm, boolean skipped) {
    }

    /** The training engine for micro-batches of {@code microBatch} rows, built on first use, with current parameters. */
    private BatchParallelEngine engineFor(int microBatch) throws EngineException {
        BatchParallelEngine engine = trainEngines.get(microBatch);
        if (engine == null) {
            engine = engineFactory.build(microBatch);
            trainEngines.put(microBatch, engine);
        }
        Long version = engineParamVersions.get(engine);
        if (version == null || version != paramVersion) {
            engine.setParameters(params);
            engineParamVersions.put(engine, paramVersion);
        }
        return engine;
    }

    private SampleOrder sampleOrder() {
        if (sampleOrder == null) {
            sampleOrder = new SampleOrder(data.train(), settings.blockSize(), settings.seed());
        }
        return sampleOrder;
    }

    /** Replaces the gradient reducer: an elastic job gets a new ring link each time the ring re-forms. */
    public void useReducer(GradientReducer next) {
        this.reducer = next;
    }

    /**
     * Takes over the training state of a peer (parameters, moments, samplers) after a failure
     * or on joining a running job.
     */
    public void restoreState(Checkpoint c) {
        if (c.parameters().length != params.length) {
            throw new IllegalArgumentException("the state has " + c.parameters().length + " parameters but this model has "
                    + params.length + "; the peer trains another model config");
        }
        restore(c);
        paramVersion++;
    }

    /** The best validation loss recorded in the last restored state, or +infinity. */
    public double restoredBestValLoss() {
        return restoredBestValLoss;
    }

    /**
     * Mean loss over eval_iters batches of this worker's train partition and of the val split.
     *
     * @return {train loss, val loss}
     */
    public double[] evaluate() throws EngineException {
        eval.parameters().put(0, params);
        double[] out = new double[2];
        BatchSampler[] samplers = {evalTrainSampler, evalValSampler};
        for (int s = 0; s < 2; s++) {
            double sum = 0;
            for (int i = 0; i < settings.evalIters(); i++) {
                samplers[s].next(eval.batch(TrainingGraph.TOKENS), eval.batch(TrainingGraph.TARGETS));
                sum += eval.step();
            }
            out[s] = sum / settings.evalIters();
        }
        return out;
    }

    /** A checkpoint of this worker's state after {@code step} (parameters are shared by all ranks). */
    public Checkpoint checkpoint(long step, String identity, double bestValLoss) {
        AdamW.State state = adam.exportState();
        return new Checkpoint(identity, params.clone(), state.m().clone(), state.v().clone(), state.step(), step,
                trainSampler.state(),
                Map.of(EVAL_TRAIN_RNG, evalTrainSampler.state(), EVAL_VAL_RNG, evalValSampler.state(),
                        "best_val_loss_bits", new long[] {Double.doubleToRawLongBits(bestValLoss)}),
                tokenizer.toJson());
    }

    /** Restores parameters, moments and sampler states from a checkpoint of the same job shape. */
    private void restore(Checkpoint c) {
        System.arraycopy(c.parameters(), 0, params, 0, params.length);
        adam.importState(new AdamW.State(c.optimizerStep(), c.adamM(), c.adamV()));
        trainSampler.restore(c.samplerState());
        long[] best = c.extraRngState().get("best_val_loss_bits");
        restoredBestValLoss = best == null ? Double.POSITIVE_INFINITY : Double.longBitsToDouble(best[0]);
        evalTrainSampler.restore(c.extraRngState().get(EVAL_TRAIN_RNG));
        evalValSampler.restore(c.extraRngState().get(EVAL_VAL_RNG));
    }

    /** CRC32C of the parameter bytes: equal on all workers while they stay in sync. */
    public long parameterChecksum() {
        CRC32C crc = new CRC32C();
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(params.length * Float.BYTES)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(params);
        crc.update(bytes);
        return crc.getValue();
    }

    @Override
    public void close() {
        try {
            for (BatchParallelEngine engine : trainEngines.values()) {
                engine.close();
            }
        } finally {
            eval.close();
        }
    }
}
