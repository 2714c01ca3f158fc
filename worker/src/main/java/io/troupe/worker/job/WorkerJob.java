package io.troupe.worker.job;

import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.graph.DType;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.StagedTrainingGraph;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.Trainable;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.engine.BatchParallelEngine;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.engine.FlatBuffer;
import io.troupe.worker.engine.FlatLayout;
import io.troupe.worker.engine.StagedBatchEngine;
import io.troupe.worker.engine.StepEngine;
import io.troupe.worker.train.AdamW;
import io.troupe.worker.train.Bf16Rounding;
import io.troupe.worker.train.LossScaler;
import io.troupe.model.gpt.Precision;
import io.troupe.worker.train.BatchSampler;
import io.troupe.worker.train.GradientClipper;
import io.troupe.worker.train.LearningRateScales;
import io.troupe.worker.train.TrainSettings;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.bert.EncoderGraphs;
import io.troupe.worker.bert.MaskedTokens;
import io.troupe.worker.bert.MlmBatches;
import io.troupe.worker.bert.MlmMasking;
import io.troupe.worker.finetune.LabelledRows;
import io.troupe.worker.seq2seq.PairRows;
import io.troupe.worker.seq2seq.Seq2SeqBatch;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * One worker's share of a data-parallel training job: its engines, its copy of the
 * parameters and optimizer state, and its evaluation samplers. Every optimizer step
 * ({@link #step}) it computes gradients on exactly the samples of the job's
 * {@link SampleOrder} its {@link ElasticShare} names, averages them with the other workers
 * through a {@link GradientReducer}, clips and applies the same AdamW update as every other
 * worker, so the parameters stay identical everywhere.
 *
 * <p>Local training is a one-worker job with {@link GradientReducer#LOCAL}, stepped through
 * the same {@link #step} with the share {@code ElasticShare.of(B, grad_accum, 1, 0, (s-1)B)}:
 * one step path, one sampler, one non-finite rule for local and distributed runs.
 */
public final class WorkerJob implements AutoCloseable {
    /** Extra checkpoint state keys. */
    static final String EVAL_TRAIN_RNG = "eval_train_sampler";
    static final String EVAL_VAL_RNG = "eval_val_sampler";
    /** A local run's skipped-step total, so {@code steps_skipped} stays a total across a resume. */
    public static final String STEPS_SKIPPED = "steps_skipped";
    /** An fp16 job's loss-scaler state in a checkpoint: scale, clean steps in a row, overflows. */
    static final String LOSS_SCALER = "loss_scaler";
    /** Checkpoint key of the best val loss so far, as the bits of a double. */
    private static final String BEST_VAL_LOSS = "best_val_loss_bits";
    /**
     * Marks a checkpoint's sampler state as {@code {tag, next sample number}} of the
     * {@link SampleOrder}. Checkpoints from before the sample order trained local runs hold a
     * random generator's state there instead; see {@code checkSampleCursor}.
     */
    static final long SAMPLE_ORDER_TAG = 0x534F52444552_0001L; // "SORDER", version 1

    private final TrainSettings settings;
    private final StartingPoint start;
    private final Tokenizer tokenizer;
    private final BatchPlan plan;
    private final GptConfig model;
    /** The encoder of an {@code arch = bert} job, else null. */
    private final EncoderConfig encoder;
    /** Makes an MLM job's rows ([CLS] window [SEP], masked); null for a GPT. */
    private final MlmBatches mlm;
    /** A classification fine-tune's labelled rows (instead of token windows), or null. */
    private final LabelledRows classify;
    /** An encoder-decoder's pairs (instead of token windows), or null. */
    private final PairRows pairs;
    /**
     * An encoder-decoder's engines by batch shape "rows x S x T", least recently used first: a
     * worker's slice is padded to its own longest row, so a run meets a few shapes, not one.
     */
    private final java.util.LinkedHashMap<String, BatchParallelEngine> shapeEngines =
            new java.util.LinkedHashMap<>(16, 0.75f, true);
    /** Builds an encoder-decoder engine of (rows, S, T); null for other jobs. */
    private final ShapeBuilder shapeFactory;
    private final ParameterLayout layout;
    private GradientReducer reducer;
    /** Engines by micro-batch rows: an elastic job's share changes with the number of workers. */
    private final Map<Integer, BatchParallelEngine> trainEngines = new HashMap<>();
    private final Map<AutoCloseable, Long> engineParamVersions = new HashMap<>();
    private final EngineBuilder engineFactory;
    /** Staged engines by micro-batch rows when overlap_allreduce is on (a GPT), else null. */
    private final Map<Integer, StagedBatchEngine> stagedEngines;
    private final StagedBuilder stagedFactory;
    private final TokenSplit data;
    private SampleOrder sampleOrder;
    private long paramVersion;
    private double restoredBestValLoss = Double.POSITIVE_INFINITY;
    private long restoredStepsSkipped;
    private final StepEngine eval;
    private final AdamW adam;
    /** fp16 only, else null: the dynamic loss scale fed to the step graph. */
    private final LossScaler lossScaler;
    private final GradientClipper clipper;
    private final BatchSampler evalTrainSampler;
    private final BatchSampler evalValSampler;
    private final float[] params;
    private final float[] grads;
    private float[] microGrads;
    private final FlatBuffer reduceBuffer;
    /** DiLoCo's outer state, or null when the workers synchronise every step. */
    private final DilocoRound diloco;
    /** Encoder-decoder engines kept at once (one per batch shape), least recently used closed first. */
    static final int MAX_SHAPE_ENGINES = 16;
    private int shapeEnginesBuilt;
    private double lastComputeMillis;
    private double lastReduceMillis;
    private double lastExposedReduceMillis;
    private MaskedTokens lastMaskedTokens;

    /**
     * Builds the engines and the initial state: GPT-2 initialisation from the seed, or the
     * state of a checkpoint.
     *
     * @param data the full train/val split: training steps read the sample order over its train
     *     split, evaluation samples this worker's partition of it and the val split
     * @param resumeFrom a checkpoint of the same job shape to continue from, or null
     */
    public WorkerJob(TrainSettings settings, Tokenizer tokenizer, TokenSplit data, BatchPlan plan,
                     EngineOptions engineOptions, GradientReducer reducer, Checkpoint resumeFrom)
            throws EngineException {
        this(settings, tokenizer, data, plan, engineOptions, reducer, resumeFrom, null);
    }

    /**
     * A job that starts from a source model (language-model fine-tuning): its parameters, and
     * only {@code start.trainable()} trains. {@link #parameters()} then holds the trainable part;
     * {@link #fullParameters()} the whole model.
     *
     * @param start the source model and what trains, or null for GPT-2 initialisation from the seed
     */
    public WorkerJob(TrainSettings settings, Tokenizer tokenizer, TokenSplit data, BatchPlan plan,
                     EngineOptions engineOptions, GradientReducer reducer, Checkpoint resumeFrom, StartingPoint start)
            throws EngineException {
        this(settings, tokenizer, data, null, null, plan, engineOptions, reducer, resumeFrom, start);
    }

    /**
     * A classification fine-tune on this step path: the steps train on {@code rows}' labelled
     * examples (sample numbers index its epoch order) instead of token windows, evaluation scores
     * its val examples, and the export is a classifier. The share, all-reduce, clipping, AdamW,
     * checkpoints and the non-finite rule are the same as for every job.
     *
     * @param start the whole classifier's starting values (layout {@code ClassifierGraphs.layout}) and what trains
     */
    public WorkerJob(TrainSettings settings, Tokenizer tokenizer, LabelledRows rows, BatchPlan plan,
                     EngineOptions engineOptions, GradientReducer reducer, Checkpoint resumeFrom, StartingPoint start)
            throws EngineException {
        this(settings, tokenizer, null, Objects.requireNonNull(rows, "rows"), null, plan, engineOptions, reducer,
                resumeFrom, Objects.requireNonNull(start, "start"));
    }

    /**
     * An encoder-decoder on this step path: the steps train on {@code pairs}' length-bucketed
     * batches (sample numbers index its batch order; each micro-batch is padded to its own
     * shape), evaluation is the unsmoothed per-token NLL, and the export is a seq2seq model
     * directory. The share, all-reduce, clipping, AdamW, checkpoints and the non-finite rule are
     * the same as for every job; the settings' model fields are not used.
     *
     * @param start the model's starting values (layout {@code pairs.config().layout()}, all trainable):
     *     a fresh initialisation from the seed, or a trained model to fine-tune
     */
    public WorkerJob(TrainSettings settings, Tokenizer tokenizer, PairRows pairs, BatchPlan plan,
                     EngineOptions engineOptions, GradientReducer reducer, Checkpoint resumeFrom, StartingPoint start)
            throws EngineException {
        this(settings, tokenizer, null, null, Objects.requireNonNull(pairs, "pairs"), plan, engineOptions, reducer,
                resumeFrom, Objects.requireNonNull(start, "start"));
    }

    private WorkerJob(TrainSettings settings, Tokenizer tokenizer, TokenSplit data, LabelledRows labelled,
                      PairRows pairRows, BatchPlan plan, EngineOptions engineOptions, GradientReducer reducer,
                      Checkpoint resumeFrom, StartingPoint start) throws EngineException {
        this.start = start;
        this.classify = labelled;
        this.pairs = pairRows;
        if (pairs != null && (settings.overlap().on() || settings.precision() != Precision.FP32
                || settings.sync().diloco() || settings.isEncoder() || start.lora() != null)) {
            throw new IllegalArgumentException("an encoder-decoder trains in fp32 with synchronous steps and no LoRA;"
                    + " set overlap_allreduce=false, precision=fp32, sync=allreduce and arch=gpt");
        }
        if (classify != null && settings.overlap().on()) {
            throw new IllegalArgumentException("overlap_allreduce applies to language-model steps, not to a classifier"
                    + " fine-tune; set overlap_allreduce=false");
        }
        if (classify != null && settings.precision() != Precision.FP32) {
            throw new IllegalArgumentException("precision " + settings.precision().label() + " applies to language-model"
                    + " steps, not to a classifier fine-tune; set precision=fp32");
        }
        this.settings = settings;
        this.tokenizer = tokenizer;
        this.plan = plan;
        this.lossScaler = settings.precision() == Precision.FP16
                ? new LossScaler(LossScaler.INITIAL_SCALE, settings.lossScaleWindow()) : null;
        this.reducer = reducer;
        this.data = data;
        this.model = settings.model(tokenizer.vocabSize());
        this.encoder = settings.isEncoder() ? settings.encoder(tokenizer.vocabSize()) : null;
        if (encoder != null && start != null) {
            throw new IllegalArgumentException("an encoder (arch = bert) is pretrained from scratch here; fine-tune it"
                    + " with troupe finetune --task classify");
        }
        this.mlm = encoder == null ? null : MlmBatches.of(tokenizer, settings.seed());
        this.layout = start == null ? settings.backbone(tokenizer.vocabSize()).layout() : start.trainable().layout();
        LoraConfig lora = start == null ? null : start.lora();
        ParameterLayout base = baseLayout();
        long expected = lora == null ? base.size() : lora.extend(base, model).size();
        if (start != null && start.trainable().full().size() != expected) {
            throw new IllegalArgumentException("the starting point is a model of " + start.trainable().full().size()
                    + " parameters, not the " + expected + " of these settings");
        }
        Trainable trainable = start == null ? null : start.trainable();
        float[] frozen = start == null ? null : start.fullParameters();
        int t = settings.blockSize();
        FlatLayout flat = flatLayout(layout);
        // ORT's Dropout derives each run's mask from (seed attribute + runs of this session), and
        // the session is new after a resume: start the seed where the interrupted run's left off.
        long sessionRunsSoFar = resumeFrom == null ? 0 : resumeFrom.trainingStep() * plan.accumulation();
        long dropoutSeed = settings.seed() + 7919L * plan.rank() + sessionRunsSoFar;
        TrainingGraph evalGraph = encoder != null ? EncoderGraphs.mlmEvaluation(encoder, plan.microBatch(), t, DType.FLOAT)
                : classify != null || pairs != null ? null
                : GptGraphs.evaluation(model, plan.microBatch(), t, DType.FLOAT, trainable, frozen, lora,
                        settings.precision());
        int size = Math.toIntExact(layout.size());
        this.params = start == null ? ParameterInit.gpt2(settings.backbone(tokenizer.vocabSize()), layout, settings.seed())
                : start.trainable().extract(start.fullParameters());
        if (settings.precision() == Precision.BF16_STORAGE) {
            Bf16Rounding.roundNearest(params);      // bf16-storage: the parameters are bfloat16 values from the start
        }
        this.grads = new float[size];
        this.adam = new AdamW(size, LearningRateScales.of(settings).ranges(layout), adamHyperparameters(settings));
        this.clipper = new GradientClipper(settings.gradClip());
        long seed = rankSeed(settings.seed(), plan.rank());
        if (classify == null && pairs == null) {
            TokenSequence trainPart = partition(data.train(), plan.workers(), plan.rank(), t);
            this.evalTrainSampler = new BatchSampler(trainPart, plan.microBatch(), t, seed ^ 0x5DEECE66DL);
            this.evalValSampler = new BatchSampler(data.val(), plan.microBatch(), t, seed ^ 0xBB67AE8584CAA73BL);
        } else {
            // A classifier scores whole example sets, an encoder-decoder fixed batches: no sampler state.
            this.evalTrainSampler = null;
            this.evalValSampler = null;
        }
        int rowLength = classify != null ? classify.seqLen() : t;
        List<String> batchInputs = classify != null ? LabelledRows.INPUTS
                : lossScaler != null ? List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS, GptGraphs.LOSS_SCALE)
                : List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS);
        // The arena setting (ort_arena) applies to this job's sessions; the memory pattern only pays
        // off with the arena, so it follows it.
        EngineOptions sessionOptions = engineOptions.withMemory(
                new EngineOptions.OrtMemory(settings.ortArena(), settings.ortArena()));
        // Lanes of one thread each split the micro-batch; lane l's Dropout seeds are 104729 * l apart.
        this.engineFactory = microBatch -> {
            // Other micro-batch sizes get their own dropout seed range, 7 * 10^9 apart.
            long sizeSeed = dropoutSeed + (microBatch == plan.microBatch() ? 0 : 7_000_000_007L * microBatch);
            return BatchParallelEngine.create(
                    (lane, rows) -> (encoder != null
                            ? EncoderGraphs.mlmTraining(encoder, rows, t, DType.FLOAT, sizeSeed + 104_729L * lane,
                                    MlmMasking.MASK_RATE * (t - 2))
                            : classify != null ? classify.training(model, rows, sizeSeed + 104_729L * lane, start)
                            : GptGraphs.training(model, rows, t, DType.FLOAT, sizeSeed + 104_729L * lane,
                                    trainable, frozen, lora, settings.activationCheckpointing(),
                                    settings.precision())).toBytes(),
                    flat, sessionOptions, microBatch, rowLength, batchInputs);
        };
        if (pairs != null) {
            // Lanes of one thread each split the rows, as for every job; shapes get seeds 10^6 + 3 apart.
            this.shapeFactory = (rows, srcLen, tgtLen) -> {
                long shapeSeed = dropoutSeed + 7_000_000_007L * rows + 1_000_003L * (srcLen * 4099L + tgtLen);
                return BatchParallelEngine.create((lane, laneRows) -> pairs.training(laneRows, srcLen, tgtLen,
                        shapeSeed + 104_729L * lane), flat, sessionOptions, rows, srcLen, PairRows.INPUTS);
            };
        } else {
            this.shapeFactory = null;
        }
        if (settings.overlap().on() && encoder == null && classify == null && pairs == null) {
            int buckets = settings.overlap().bucketsFor(model.nLayer());
            BiFunction<Integer, Long, StagedTrainingGraph> staged =
                    (rows, seedOf) -> GptGraphs.stagedTraining(model, rows, t, DType.FLOAT, seedOf, trainable, frozen, lora,
                            settings.activationCheckpointing(), buckets);
            this.stagedEngines = new HashMap<>();
            this.stagedFactory = microBatch -> {
                // The same Dropout seeds as the one-graph engine's, so both paths draw the same masks.
                long sizeSeed = dropoutSeed + (microBatch == plan.microBatch() ? 0 : 7_000_000_007L * microBatch);
                return StagedBatchEngine.create((lane, rows) -> staged.apply(rows, sizeSeed + 104_729L * lane).stages()
                                .stream().map(s -> new StagedBatchEngine.Stage(s.graph().toBytes(), s.gradients())).toList(),
                        flat, sessionOptions, microBatch, t,
                        List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS), sessionOptions.intraOpThreads());
            };
        } else {
            this.stagedEngines = null;
            this.stagedFactory = null;
        }
        AutoCloseable trainEngine;
        if (pairs != null) {
            // Engines come with the shapes the batches need.
            trainEngine = () -> { };
        } else if (stagedEngines != null) {
            StagedBatchEngine engine = stagedFactory.build(plan.microBatch());
            stagedEngines.put(plan.microBatch(), engine);
            trainEngine = engine;
        } else {
            BatchParallelEngine engine = engineFactory.build(plan.microBatch());
            trainEngines.put(plan.microBatch(), engine);
            trainEngine = engine;
        }
        try {
            this.eval = evalGraph == null ? null : StepEngine.create(evalGraph.toBytes(), flat, sessionOptions);
            if (classify != null) {
                classify.prepareEvaluation(model, start, engineOptions.intraOpThreads());
            }
            if (pairs != null) {
                pairs.prepareEvaluation(engineOptions.intraOpThreads());
            }
        } catch (RuntimeException e) {
            try {
                trainEngine.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        this.reduceBuffer = FlatBuffer.allocate(size);
        this.diloco = settings.sync().diloco() ? new DilocoRound(settings.sync(), params, adam, 0) : null;
        if (resumeFrom != null) {
            restore(resumeFrom);
        }
    }

    /** The model's layout without adapters: a GPT's, or a classify job's classifier (body and head). */
    private ParameterLayout baseLayout() {
        if (pairs != null) {
            return pairs.config().layout();
        }
        return classify == null ? ParameterLayout.of(model) : ClassifierGraphs.layout(model, classify.head());
    }

    /** The engine's view of a model layout: the same names, offsets and shapes. */
    public static FlatLayout flatLayout(ParameterLayout layout) {
        FlatLayout.Packer packer = FlatLayout.packer();
        for (ParameterLayout.View v : layout.views()) {
            packer.add(v.name(), v.shape());
        }
        return packer.build();
    }

    /** The evaluation samplers' seed: rank 0 keeps the run's seed. */
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

    /** The encoder of an {@code arch = bert} job, or null for a GPT. */
    public EncoderConfig encoder() {
        return encoder;
    }

    /**
     * Writes the trained model to {@code dir/model.onnx}: a GPT's next-token model, or an
     * encoder's inference graph (hidden states and MLM logits, with its [CLS]/[SEP] ids), which
     * {@code embed}, {@code fill-mask} and {@code finetune --from DIR --task classify} read.
     */
    public java.nio.file.Path export(java.nio.file.Path dir) throws java.io.IOException {
        if (pairs != null) {
            io.troupe.data.pairs.PairDataset d = pairs.data();
            try {
                new io.troupe.worker.seq2seq.Seq2SeqModelDir(pairs.config(), params, tokenizer, d.bosId(), d.eosId(),
                        d.padId(), d.manifest().path("attribution").asText("")).save(dir);
            } catch (io.troupe.data.DataException e) {
                throw new java.io.IOException(e.getMessage(), e);
            }
            return dir.resolve(io.troupe.worker.seq2seq.Seq2SeqModelDir.CONFIG);
        }
        if (classify != null) {
            if (start.lora() != null) {
                io.troupe.worker.run.AdapterFile.write(dir, start.lora(), layout, params);
            }
            return io.troupe.worker.run.ClassifierExport.write(dir, model, classify.head(), exportParameters(),
                    classify.labels());
        }
        if (encoder == null) {
            return io.troupe.worker.run.ModelExport.write(dir, model, exportParameters());
        }
        io.troupe.worker.finetune.SpecialTokens specials =
                io.troupe.worker.finetune.SpecialTokens.of((io.troupe.data.tokenize.HfJsonTokenizer) tokenizer);
        return io.troupe.worker.run.EncoderExport.write(dir, encoder, params, specials.toMetadata(), "mean");
    }

    public ParameterLayout layout() {
        return layout;
    }

    /** The parameters (the optimizer's copy: the trainable ones of a fine-tuning job); do not modify. */
    public float[] parameters() {
        return params;
    }

    /** Every parameter of the model: {@link #parameters()} merged into a fine-tuning job's frozen ones. */
    public float[] fullParameters() {
        return start == null ? params : start.merged(params);
    }

    /** The plain GPT to export: {@link #fullParameters()} with a LoRA adapter merged into its weights. */
    public float[] exportParameters() {
        return start == null ? params : start.exported(params, baseLayout(), model);
    }

    /**
     * Runs the training graph and the optimizer's Java on throwaway data a few times, so that a
     * hot spare's first real step does not pay ORT's first run (its memory plan and the first
     * touch of the activations' memory) or run its Java interpreted.
     * Nothing the training state holds changes: parameters, moments, the sample order and the
     * step count stay as they are. Only the one-graph GPT and encoder engines are warmed; other
     * engines (staged, classifier, encoder-decoder) are left cold.
     *
     * @return the milliseconds it took, or -1 when this job's engine is not one that is warmed
     */
    public double warmUpCompute() throws EngineException {
        if (classify != null || pairs != null || stagedEngines != null) {
            return -1;
        }
        long t0 = System.nanoTime();
        BatchParallelEngine engine = engineFor(plan.microBatch());
        for (String input : List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS)) {
            LongBuffer batch = engine.batch(input);
            while (batch.hasRemaining()) {
                batch.put(0L);
            }
        }
        if (lossScaler != null) {
            LongBuffer scale = engine.batch(GptGraphs.LOSS_SCALE);
            while (scale.hasRemaining()) {
                scale.put(1L);
            }
        }
        float[] scratch = new float[grads.length];
        // The Java half of a step runs interpreted until the JIT compiles it; a promoted spare's
        // first step measured 115-295 ms of compute against a survivor's 46-91 after the graph
        // alone was warmed. Each pass below runs the same methods on throwaway arrays: the graph,
        // the clipper over a full gradient, and AdamW over a slice (enough loop iterations to
        // compile it, without the memory of a second optimizer state).
        int slice = Math.min(grads.length, 1 << 18);
        float[] scratchParams = new float[slice];
        AdamW scratchAdam = new AdamW(slice, List.of(new AdamW.Range(0, slice, true)), adamHyperparameters(settings));
        float[] scratchSlice = new float[slice];
        for (int pass = 0; pass < WARM_UP_PASSES; pass++) {
            engine.step(scratch);
            clipper.clip(scratch);
            System.arraycopy(scratch, 0, scratchSlice, 0, slice);
            scratchAdam.update(scratchParams, scratchSlice, 1e-4);
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    private static AdamW.Hyperparameters adamHyperparameters(TrainSettings settings) {
        return new AdamW.Hyperparameters(settings.beta1(), settings.beta2(), 1e-8, settings.weightDecay());
    }

    /** Passes of {@link #warmUpCompute}: the JIT compiles a hot loop after some thousands of iterations. */
    private static final int WARM_UP_PASSES = 3;

    /** Milliseconds of forward+backward in the last step. */
    public double lastComputeMillis() {
        return lastComputeMillis;
    }

    /** Milliseconds of gradient all-reduce in the last step. */
    public double lastReduceMillis() {
        return lastReduceMillis;
    }

    /**
     * Milliseconds of the last step's all-reduce that the backward pass did not hide: from the
     * end of the backward pass to the end of the last all-reduce (all of it without overlap_allreduce).
     */
    public double lastExposedReduceMillis() {
        return lastExposedReduceMillis;
    }

    /**
     * One optimizer step on exactly the samples {@code share} names: micro-steps over its rows
     * of the {@link SampleOrder}, weighted to this worker's part of the global mean, all-reduce,
     * then, if the step is finite, clip and AdamW.
     *
     * <p>The non-finite rule: a worker whose loss is NaN or infinite poisons its gradient, so
     * after the all-reduce every worker sees a non-finite norm and skips the update alike (the
     * parameters stay untouched and identical everywhere). Counting skipped steps and stopping
     * after {@code max_nonfinite_steps} in a row is the caller's ({@code NonFiniteSteps}).
     */
    public StepResult step(long step, double lr, ElasticShare share) throws EngineException, ReductionException {
        SampleOrder order = classify == null && pairs == null ? sampleOrder() : null;
        double loss = pairs != null ? pairGradients(share, step)
                : stagedEngines != null ? stagedGradients(stagedEngineFor(share.microBatch()), order, share, step)
                : gradients(engineFor(share.microBatch()), order, share, step);
        // The clipper computes the global norm anyway and leaves a non-finite gradient untouched.
        double norm = clipper.clip(grads);
        boolean skipped = !Double.isFinite(norm);
        boolean overflow = false;
        if (lossScaler != null) {
            // An fp16 gradient that overflowed at a scale above 1 is the scaler's to absorb (halve
            // and skip); a non-finite loss, or an overflow at scale 1, is divergence, as in fp32.
            overflow = skipped && Double.isFinite(loss) && lossScaler.scale() > 1;
            lossScaler.update(!skipped);
        }
        if (!skipped) {
            adam.update(params, grads, lr);
            if (settings.precision() == Precision.BF16_STORAGE) {
                // The same seed and step on every worker: the same rounding, bit-identical parameters.
                Bf16Rounding.roundStochastic(params, settings.seed(), adam.step());
            }
            paramVersion++;
        }
        if (diloco != null && diloco.outerStepAt(step)) {
            long t0 = System.nanoTime();
            diloco.outerStep(step, params, adam, reducer);
            paramVersion++;
            lastReduceMillis = (System.nanoTime() - t0) / 1e6;
            lastExposedReduceMillis = lastReduceMillis;
        }
        return new StepResult(loss, norm, skipped, overflow);
    }

    /** The fp16 loss scaler, or null unless precision is fp16. */
    public LossScaler lossScaler() {
        return lossScaler;
    }

    /**
     * DiLoCo: the step of the outer state every worker agrees on, or -1 in sync mode. Between
     * outer steps this worker's parameters are its own.
     */
    public long outerStep() {
        return diloco == null ? -1 : diloco.outerStep();
    }

    /**
     * DiLoCo: goes back to the last outer state (after a failure, before the ring re-forms), so
     * every worker offers the state they agree on; the inner steps since are lost. Returns the
     * step of that state. In sync mode the state is left as it is and -1 returned.
     */
    public long revertToOuterState() {
        if (diloco == null) {
            return -1;
        }
        long at = diloco.revert(params, adam);
        paramVersion++;
        return at;
    }

    /**
     * The step's gradient in {@link #grads}: the share's accumulation micro-steps (its samples of
     * {@code order}) summed, scaled by its gradient weight / accumulation (this worker's share of
     * the global mean), and averaged over the workers. Records the compute and all-reduce times.
     *
     * @return the mean loss over the micro-steps
     */
    private double gradients(BatchParallelEngine engine, SampleOrder order, ElasticShare share, long step)
            throws EngineException, ReductionException {
        long t0 = System.nanoTime();
        int accumulation = share.accumulation();
        double loss = 0;
        float[] micro = accumulation > 1 ? microBuffer() : grads;
        for (int m = 0; m < accumulation; m++) {
            long first = share.sampleFrom() + (long) m * share.microBatch();
            if (classify != null) {
                classify.fill(engine, first, share.microBatch());
            } else {
                order.fill(first, share.microBatch(), engine.batch(TrainingGraph.TOKENS),
                        engine.batch(TrainingGraph.TARGETS));
            }
            if (lossScaler != null) {
                LongBuffer scale = engine.batch(GptGraphs.LOSS_SCALE);
                while (scale.hasRemaining()) {
                    scale.put(lossScaler.scale());
                }
            }
            if (mlm != null) {
                // Each row's mask is keyed by its global sample number: the same on any worker, after any resume.
                mlm.prepare(engine.batch(TrainingGraph.TOKENS), engine.batch(TrainingGraph.TARGETS), share.microBatch(),
                        settings.blockSize(), first);
            }
            loss += engine.step(m == 0 ? grads : micro);
            if (m > 0) {
                for (int i = 0; i < grads.length; i++) {
                    grads[i] += micro[i];
                }
            }
        }
        // DiLoCo's inner steps are this worker's own: the mean over its rows, not its share of a global mean.
        float scale = (diloco == null ? share.gradientWeight() : 1f) / accumulation;
        if (scale != 1f) {
            for (int i = 0; i < grads.length; i++) {
                grads[i] *= scale;
            }
        }
        if (!Double.isFinite(loss)) {
            // A finite gradient beside a non-finite loss is not to be trusted; the NaN reaches every
            // worker through the all-reduce, so all of them skip this step.
            grads[0] = Float.NaN;
        }
        allReduceTimed(t0, share.workers() > 1 && diloco == null, step);
        return loss / accumulation;
    }

    /**
     * {@link #gradients} for an encoder-decoder: each micro-step's rows are padded to their own
     * shape and run on that shape's engine, and every lane is weighed by its share of the real
     * target tokens of the whole global batch ({@code workers * tokens_lane / tokens_global}, so
     * the mean over workers is the token-weighted mean a single session over the global batch
     * computes, and not a mean of per-lane or per-worker means). Every worker counts the global
     * batch's tokens itself: the sample order is a pure function of the sample number.
     *
     * @return this worker's loss: the token-weighted mean over its rows (0 if it has only filler rows)
     */
    private double pairGradients(ElasticShare share, long step) throws EngineException, ReductionException {
        long t0 = System.nanoTime();
        // The share lies inside one global batch: steps start at multiples of it.
        long batchStart = share.sampleFrom() / share.globalBatch() * share.globalBatch();
        long globalTokens = pairs.targetTokens(batchStart, share.globalBatch());
        float[] micro = share.accumulation() > 1 ? microBuffer() : grads;
        double tokenLoss = 0;
        long myTokens = 0;
        for (int m = 0; m < share.accumulation(); m++) {
            long first = share.sampleFrom() + (long) m * share.microBatch();
            Seq2SeqBatch batch = pairs.batch(first, share.microBatch());
            BatchParallelEngine engine = shapeEngineFor(batch.rows(), batch.srcLen(), batch.tgtLen());
            PairRows.fill(engine, batch);
            int[] laneRows = engine.laneRows();
            double[] weights = new double[laneRows.length];
            long laneFirst = first;
            for (int l = 0; l < laneRows.length; l++) {
                long tokens = pairs.targetTokens(laneFirst, laneRows[l]);
                weights[l] = globalTokens == 0 ? 0 : (double) share.workers() * tokens / globalTokens;
                myTokens += tokens;
                laneFirst += laneRows[l];
            }
            double weighted = engine.step(m == 0 ? grads : micro, weights);
            tokenLoss += weighted * globalTokens / share.workers();
            if (m > 0) {
                for (int i = 0; i < grads.length; i++) {
                    grads[i] += micro[i];
                }
            }
        }
        double loss = myTokens == 0 ? 0 : tokenLoss / myTokens;
        if (!Double.isFinite(loss)) {
            grads[0] = Float.NaN;
        }
        allReduceTimed(t0, share.workers() > 1, step);
        return loss;
    }

    /**
     * The encoder-decoder engine of (rows, S, T), built on first use, with current parameters.
     * At most {@link #MAX_SHAPE_ENGINES} are kept; the least recently used is closed (the
     * sessions run without ORT's arena, so an idle engine holds its graph but no activations).
     */
    private BatchParallelEngine shapeEngineFor(int rows, int srcLen, int tgtLen) throws EngineException {
        String key = rows + "x" + srcLen + "x" + tgtLen;
        BatchParallelEngine engine = shapeEngines.get(key);
        if (engine == null) {
            if (shapeEngines.size() >= MAX_SHAPE_ENGINES) {
                var eldest = shapeEngines.entrySet().iterator();
                BatchParallelEngine old = eldest.next().getValue();
                eldest.remove();
                engineParamVersions.remove(old);
                old.close();
            }
            engine = shapeFactory.build(rows, srcLen, tgtLen);
            shapeEngines.put(key, engine);
            shapeEnginesBuilt++;
        }
        return withCurrentParameters(engine, engine::setParameters);
    }

    /**
     * Returns {@code engine} after copying the parameters into it, unless it already holds this
     * version of them: engines of other shapes or sizes sit out steps and must catch up.
     */
    private <E extends AutoCloseable> E withCurrentParameters(E engine, java.util.function.Consumer<float[]> load) {
        Long version = engineParamVersions.get(engine);
        if (version == null || version != paramVersion) {
            load.accept(params);
            engineParamVersions.put(engine, paramVersion);
        }
        return engine;
    }

    /** Encoder-decoder engines built so far (a step that built one paid for its sessions). */
    public int shapeEnginesBuilt() {
        return shapeEnginesBuilt;
    }

    /** Builds an encoder-decoder training engine for one batch shape. */
    @FunctionalInterface
    private interface ShapeBuilder {
        BatchParallelEngine build(int rows, int srcLen, int tgtLen) throws EngineException;
    }

    /**
     * Ends a step's compute (begun at {@code t0}) and, if {@code reduce}, averages {@link #grads}
     * over the workers; records the compute and all-reduce times (all of it exposed: nothing overlaps).
     */
    private void allReduceTimed(long t0, boolean reduce, long step) throws ReductionException {
        long t1 = System.nanoTime();
        if (reduce) {
            reduceBuffer.copyFrom(grads);
            reducer.allReduceMean(reduceBuffer.floats(), step);
            reduceBuffer.copyTo(grads);
        }
        long t2 = System.nanoTime();
        lastComputeMillis = (t1 - t0) / 1e6;
        lastReduceMillis = (t2 - t1) / 1e6;
        lastExposedReduceMillis = lastReduceMillis;
    }

    /**
     * {@link #gradients} on the staged engine (overlap_allreduce): the same micro-steps and the
     * same arithmetic on every element in the same order (sum over micro-steps, scale, the
     * non-finite poison of element 0), but in the last micro-step each stage's part is finished
     * and all-reduced as soon as the stage is in, while the lanes compute the next stage. The
     * ring is called once per stage with that stage's gradients packed together, in stage order
     * on every worker.
     */
    private double stagedGradients(StagedBatchEngine engine, SampleOrder order, ElasticShare share, long step)
            throws EngineException, ReductionException {
        long t0 = System.nanoTime();
        int accumulation = share.accumulation();
        float[] micro = accumulation > 1 ? microBuffer() : grads;
        float scale = share.gradientWeight() / accumulation;
        boolean reduce = share.workers() > 1;
        double[] loss = {0};
        List<long[]> reduceCalls = new ArrayList<>();
        for (int m = 0; m < accumulation; m++) {
            long first = share.sampleFrom() + (long) m * share.microBatch();
            order.fill(first, share.microBatch(), engine.batch(TrainingGraph.TOKENS), engine.batch(TrainingGraph.TARGETS));
            boolean accumulate = m > 0;
            if (m < accumulation - 1) {
                loss[0] += engine.step(m == 0 ? grads : micro, null);
                if (accumulate) {
                    for (int i = 0; i < grads.length; i++) {
                        grads[i] += micro[i];
                    }
                }
                continue;
            }
            double before = loss[0];
            engine.step(m == 0 ? grads : micro, (stage, ranges, microLoss) -> {
                if (stage == 0) {
                    loss[0] = before + microLoss;
                }
                finishRanges(ranges, accumulate ? micro : null, scale, Double.isFinite(loss[0]));
                if (reduce) {
                    long r0 = System.nanoTime();
                    reduceRanges(ranges, step);
                    reduceCalls.add(new long[] {r0, System.nanoTime()});
                }
            });
        }
        long computeEnd = engine.lastComputeEndNanos();
        long reduceNanos = 0;
        long exposedNanos = 0;
        for (long[] call : reduceCalls) {
            reduceNanos += call[1] - call[0];
            // Only the part of a call after the backward pass ended adds to the step's time.
            exposedNanos += Math.max(0, call[1] - Math.max(call[0], computeEnd));
        }
        lastComputeMillis = (computeEnd - t0) / 1e6;
        lastReduceMillis = reduceNanos / 1e6;
        lastExposedReduceMillis = exposedNanos / 1e6;
        return loss[0] / accumulation;
    }

    /** Adds the last micro-step's part (when accumulating), scales, and poisons element 0 after a non-finite loss. */
    private void finishRanges(int[][] ranges, float[] micro, float scale, boolean finiteLoss) {
        for (int[] r : ranges) {
            int end = r[0] + r[1];
            if (micro != null) {
                for (int i = r[0]; i < end; i++) {
                    grads[i] += micro[i];
                }
            }
            if (scale != 1f) {
                for (int i = r[0]; i < end; i++) {
                    grads[i] *= scale;
                }
            }
            if (!finiteLoss && r[0] == 0 && r[1] > 0) {
                // As in gradients(): the NaN reaches every worker through the all-reduce.
                grads[0] = Float.NaN;
            }
        }
    }

    /** All-reduces the gradients of {@code ranges}, packed into the front of the reduce buffer. */
    private void reduceRanges(int[][] ranges, long step) throws ReductionException {
        java.nio.FloatBuffer packed = reduceBuffer.floats();
        int n = 0;
        for (int[] r : ranges) {
            packed.put(n, grads, r[0], r[1]);
            n += r[1];
        }
        reducer.allReduceMean(packed.slice(0, n), step);
        n = 0;
        for (int[] r : ranges) {
            packed.get(n, grads, r[0], r[1]);
            n += r[1];
        }
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

    /** Builds the staged training engine for one micro-batch size. */
    @FunctionalInterface
    private interface StagedBuilder {
        StagedBatchEngine build(int microBatch) throws EngineException;
    }

    /** The staged engine for micro-batches of {@code microBatch} rows, built on first use, with current parameters. */
    private StagedBatchEngine stagedEngineFor(int microBatch) throws EngineException {
        StagedBatchEngine engine = stagedEngines.get(microBatch);
        if (engine == null) {
            engine = stagedFactory.build(microBatch);
            stagedEngines.put(microBatch, engine);
        }
        return withCurrentParameters(engine, engine::setParameters);
    }

    /**
     * The outcome of a step.
     *
     * @param loss the mean loss over this worker's rows
     * @param gradNorm the global gradient norm before clipping
     * @param skipped the loss or gradient was not finite, so the update was not applied
     */
    public record StepResult(double loss, double gradNorm, boolean skipped, boolean overflow) {
        /** A step of an fp32 job, where no skip is a loss-scale overflow. */
        public StepResult(double loss, double gradNorm, boolean skipped) {
            this(loss, gradNorm, skipped, false);
        }
    }

    /** The training engine for micro-batches of {@code microBatch} rows, built on first use, with current parameters. */
    private BatchParallelEngine engineFor(int microBatch) throws EngineException {
        BatchParallelEngine engine = trainEngines.get(microBatch);
        if (engine == null) {
            engine = engineFactory.build(microBatch);
            trainEngines.put(microBatch, engine);
        }
        return withCurrentParameters(engine, engine::setParameters);
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

    /** The non-finite steps a local run had skipped before the restored checkpoint (0 without one). */
    public long restoredStepsSkipped() {
        return restoredStepsSkipped;
    }

    /**
     * Mean loss over eval_iters batches of this worker's train partition and of the val split.
     *
     * @return {train loss, val loss}
     */
    public double[] evaluate() throws EngineException {
        if (pairs != null) {
            return pairs.evaluate(params, plan.rank(), plan.workers());
        }
        if (classify != null) {
            return classify.evaluate(params, plan.rank(), plan.workers(), settings.evalIters() * plan.microBatch());
        }
        eval.parameterBuffer().copyFrom(params);
        double[] out = new double[2];
        BatchSampler[] samplers = {evalTrainSampler, evalValSampler};
        double correct = 0;
        double masked = 0;
        for (int s = 0; s < 2; s++) {
            double sum = 0;
            for (int i = 0; i < settings.evalIters(); i++) {
                LongBuffer tokens = eval.batch(TrainingGraph.TOKENS);
                LongBuffer targets = eval.batch(TrainingGraph.TARGETS);
                // The mask is keyed by the sampler's state before the draw: restored with it on resume.
                long key = Arrays.hashCode(samplers[s].state());
                samplers[s].next(tokens, targets);
                if (mlm != null) {
                    mlm.prepare(tokens, targets, plan.microBatch(), settings.blockSize(), key * 31 + s);
                }
                sum += eval.step();
                if (mlm != null && s == 1) {
                    correct += eval.metric(EncoderGraphs.MASKED_CORRECT);
                    masked += eval.metric(EncoderGraphs.MASKED_COUNT);
                }
            }
            out[s] = sum / settings.evalIters();
        }
        // The engine's counts are whole numbers in float outputs: exact as longs.
        lastMaskedTokens = mlm == null ? null : new MaskedTokens(Math.round(correct), Math.round(masked));
        return out;
    }

    /**
     * The masked-token accuracy of the last {@link #evaluate()} on the val split: top-1 hits over
     * masked positions, pooled over its eval_iters batches; NaN for a GPT or before any evaluation.
     */
    public double lastMaskedAccuracy() {
        return lastMaskedTokens == null ? Double.NaN : lastMaskedTokens.accuracy();
    }

    /** A classify job's val accuracy at the last {@link #evaluate()} (every val example); NaN otherwise. */
    public double lastValAccuracy() {
        return classify == null ? Double.NaN : classify.lastAccuracy();
    }

    /**
     * The counts behind {@link #lastMaskedAccuracy()} (hits, masked positions over the val
     * batches of the last evaluation); empty for a GPT or before any evaluation.
     */
    public Optional<MaskedTokens> lastMaskedTokens() {
        return Optional.ofNullable(lastMaskedTokens);
    }

    /**
     * A detached copy of this worker's state after {@code step} (parameters are shared by all
     * ranks): its arrays stay as they are while training goes on. It costs three arrays of the
     * parameters' size; to write or send the state between steps use {@link #liveCheckpoint}.
     */
    public Checkpoint checkpoint(long step, String identity, double bestValLoss) {
        Checkpoint live = liveCheckpoint(step, identity, bestValLoss);
        return new Checkpoint(live.config(), live.parameters().clone(), live.adamM().clone(), live.adamV().clone(),
                live.optimizerStep(), live.trainingStep(), live.samplerState(), live.extraRngState(),
                live.tokenizer());
    }

    /**
     * This worker's state after {@code step} over the live parameter and moment arrays, not
     * copies (for 124M parameters a copy is 1.5 GB, which the JVM's default heap does not have):
     * the next {@link #step} or restore changes them. Write or encode it on the thread that
     * trains, before the next step, and do not keep it; {@link #checkpoint} is the copy to keep.
     */
    public Checkpoint liveCheckpoint(long step, String identity, double bestValLoss) {
        return liveCheckpoint(step, identity, bestValLoss, Map.of());
    }

    /** {@link #liveCheckpoint(long, String, double)} of a local run, with its skipped-step total. */
    public Checkpoint liveCheckpoint(long step, String identity, double bestValLoss, long stepsSkipped) {
        return liveCheckpoint(step, identity, bestValLoss, Map.of(STEPS_SKIPPED, new long[] {stepsSkipped}));
    }

    private Checkpoint liveCheckpoint(long step, String identity, double bestValLoss, Map<String, long[]> more) {
        AdamW.State state = adam.liveState();
        Map<String, long[]> extra = new HashMap<>(more);
        if (evalTrainSampler != null) {
            extra.put(EVAL_TRAIN_RNG, evalTrainSampler.state());
            extra.put(EVAL_VAL_RNG, evalValSampler.state());
        }
        extra.put(BEST_VAL_LOSS, new long[] {Double.doubleToRawLongBits(bestValLoss)});
        if (lossScaler != null) {
            extra.put(LOSS_SCALER, lossScaler.exportState());
        }
        if (diloco != null) {
            if (step != diloco.outerStep()) {
                throw new IllegalStateException("a DiLoCo checkpoint holds the outer state of step " + diloco.outerStep()
                        + ", not step " + step + "; checkpoint on outer steps only");
            }
            extra.put(DilocoRound.OUTER_MOMENTUM, diloco.momentumState());
        }
        // The training samples are a pure function of the step: the state is the next sample number.
        long[] sampler = {SAMPLE_ORDER_TAG, step * plan.globalBatch()};
        return new Checkpoint(identity, params, state.m(), state.v(), state.step(), step,
                sampler, Map.copyOf(extra), tokenizer.toJson());
    }

    /** Restores parameters, moments and sampler states from a checkpoint of the same job shape. */
    private void restore(Checkpoint c) {
        FlatBuffer.copy(c.parameters(), params);
        if (settings.precision() == Precision.BF16_STORAGE) {
            Bf16Rounding.roundNearest(params);      // a float32 checkpoint continued in bf16-storage; a no-op on a bf16 one
        }
        adam.importState(new AdamW.State(c.optimizerStep(), c.adamM(), c.adamV()));
        checkSampleCursor(c);
        long[] best = c.extraRngState().get(BEST_VAL_LOSS);
        restoredBestValLoss = best == null ? Double.POSITIVE_INFINITY : Double.longBitsToDouble(best[0]);
        long[] skipped = c.extraRngState().get(STEPS_SKIPPED);
        restoredStepsSkipped = skipped == null ? 0 : skipped[0];
        long[] scaler = c.extraRngState().get(LOSS_SCALER);
        if (lossScaler != null && scaler != null) {
            lossScaler.importState(scaler);
        }
        if (evalTrainSampler != null) {
            evalTrainSampler.restore(c.extraRngState().get(EVAL_TRAIN_RNG));
            evalValSampler.restore(c.extraRngState().get(EVAL_VAL_RNG));
        }
        if (diloco != null) {
            diloco.restore(params, adam, c.trainingStep(), c.extraRngState().get(DilocoRound.OUTER_MOMENTUM));
        }
    }

    /**
     * A checkpoint of the sample order must continue where its step left off. One whose sampler
     * state is not tagged was written before local runs trained on the sample order (its state
     * is then a random generator's, which distributed steps never used): it still loads, and
     * training continues at sample {@code step * B} of the sample order, so a local run resumed
     * from it draws other batches than the old version would have.
     */
    private void checkSampleCursor(Checkpoint c) {
        long[] state = c.samplerState();
        if (state.length == 2 && state[0] == SAMPLE_ORDER_TAG && state[1] != c.trainingStep() * plan.globalBatch()) {
            throw new IllegalArgumentException("the checkpoint of step " + c.trainingStep() + " continues at sample "
                    + state[1] + ", not at step * batch_size = " + c.trainingStep() * plan.globalBatch()
                    + "; it was written with another batch_size: resume with the same settings or start over");
        }
    }

    /** CRC32C of the parameter bytes: equal on all workers while they stay in sync. */
    public long parameterChecksum() {
        return FlatBuffer.checksum(params);
    }

    @Override
    public void close() {
        try {
            for (BatchParallelEngine engine : trainEngines.values()) {
                engine.close();
            }
            shapeEngines.values().forEach(BatchParallelEngine::close);
            shapeEngines.clear();
            if (stagedEngines != null) {
                stagedEngines.values().forEach(StagedBatchEngine::close);
            }
        } finally {
            if (eval != null) {
                eval.close();
            }
            if (classify != null) {
                classify.close();
            }
            if (pairs != null) {
                pairs.close();
            }
        }
    }
}
