package io.troupe.worker.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.ActivationCheckpointing;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.Precision;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every setting of a training run, read once from HOCON: reference.conf defaults, then a
 * preset ({@code troupe/presets/<name>.conf}), then {@code key=value} overrides. Keys use
 * nanoGPT's names. The vocabulary size is not a setting; it comes from the tokenizer.
 */
public record TrainSettings(
        int nLayer, int nHead, int nEmbd, int blockSize, double dropout, boolean bias, boolean tiedEmbeddings,
        int batchSize, int gradAccum,
        long maxIters, double learningRate, double minLr, long warmupIters, long lrDecayIters, boolean decayLr,
        double beta1, double beta2, double weightDecay, double gradClip, int maxNonfiniteSteps,
        long evalInterval, int evalIters, long logInterval, long checkpointInterval, int keepCheckpoints,
        long seed, double lrBodyScale, double lrLayerDecay, String arch, ActivationCheckpointing activationCheckpointing,
        boolean ortArena, SyncSettings sync, AllReduceOverlap overlap, Precision precision, int lossScaleWindow) {

    private static final String ROOT = "troupe.train";
    /** What the backward pass recomputes (memory); not part of the resume identity: gradients are the same. */
    static final String ACTIVATION_CHECKPOINTING = "activation_checkpointing";
    /** ONNX Runtime's CPU arena for the training and evaluation sessions (memory); not in the resume identity. */
    static final String ORT_ARENA = "ort_arena";
    private static final String MAX_NONFINITE_STEPS = "max_nonfinite_steps";
    /** What the step computes in (fp32, fp16, bf16-storage); not in the resume identity: a checkpoint holds float32 values, which bf16-storage rounds on resume. */
    public static final String PRECISION = "precision";
    /** fp16: clean steps in a row after which the loss scale doubles ({@link LossScaler}). */
    static final String LOSS_SCALE_WINDOW = "loss_scale_window";
    /** Discriminative learning rates (fine-tuning); see {@link LearningRateScales}. */
    static final String LR_BODY_SCALE = "lr_body_scale";
    static final String LR_LAYER_DECAY = "lr_layer_decay";
    /** The model family: {@value #GPT} (next-token) or {@value #BERT} (masked-language-model encoder). */
    static final String ARCH = "arch";
    public static final String GPT = "gpt";
    public static final String BERT = "bert";
    /** How workers combine their work (sync data parallelism or DiLoCo); see {@link SyncSettings}. */
    private static final java.util.List<String> SYNC_KEYS = java.util.List.of(SyncSettings.MODE,
            SyncSettings.INNER_STEPS, SyncSettings.OUTER_LR, SyncSettings.OUTER_MOMENTUM);

    /** Preset names shipped in the jar. */
    public static final Set<String> PRESETS = Set.of("shakespeare-char-small", "shakespeare-char", "bert-tiny",
            "bert-small");

    /**
     * Reads settings.
     *
     * @param preset a preset name, or null for the reference defaults
     * @param overrides key=value pairs (values in HOCON syntax) applied last
     */
    public static TrainSettings load(String preset, Map<String, String> overrides) {
        Config reference = ConfigFactory.defaultReference().getConfig(ROOT);
        Config base = reference;
        if (preset != null) {
            if (!PRESETS.contains(preset)) {
                throw new SettingsException("unknown preset '" + preset + "'; choose one of " + new TreeSet<>(PRESETS));
            }
            Config presetConfig = ConfigFactory.parseResources(TrainSettings.class.getClassLoader(),
                    "troupe/presets/" + preset + ".conf", ConfigParseOptions.defaults().setAllowMissing(false));
            base = presetConfig.withFallback(reference);
        }
        Config merged = base;
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String key = e.getKey();
            if (!reference.hasPath(key)) {
                throw new SettingsException("unknown setting '" + key + "'; known settings: "
                        + new TreeSet<>(reference.root().keySet()));
            }
            Config one;
            try {
                one = ConfigFactory.parseString(quoteKey(key) + " = " + e.getValue());
            } catch (ConfigException ex) {
                throw new SettingsException("setting " + key + "=" + e.getValue() + " is not a valid value");
            }
            merged = one.withFallback(merged);
        }
        return from(merged.resolve(ConfigResolveOptions.defaults()));
    }

    /**
     * Reads settings for a run of {@code steps} steps: the {@code --steps} flag of {@code train},
     * {@code coordinator} and every trial of {@code tune}, so the rule is written once here.
     *
     * <p>The learning-rate schedule follows the run unless the overrides set its keys.
     * {@code lr_decay_iters} becomes {@code steps}: the cosine ends where the run ends, as
     * nanoGPT sets lr_decay_iters = max_iters (a preset's 2000 would leave a 60-step run near
     * its peak rate, and refuse a warm-up longer than the run). {@code warmup_iters} keeps its
     * share of the decay ({@code round(warmup * steps / lr_decay_iters)}: the small preset's 100
     * of 2000 becomes 3 of 60 and 30 of 600), so a short run is a scaled copy of the preset's
     * schedule; a cap at {@code steps} would instead spend a short run entirely warming up. When
     * {@code lr_decay_iters} is set, nothing is scaled: the schedule is the user's. A resume must
     * pass the same {@code --steps} (or set lr_decay_iters), since the schedule is part of what a
     * checkpoint must agree with.
     *
     * @throws SettingsException if steps is below 1 or the settings are invalid
     */
    public static TrainSettings load(String preset, Map<String, String> overrides, long steps) {
        if (steps < 1) {
            throw new SettingsException("--steps must be >= 1, got " + steps);
        }
        TrainSettings base = load(preset, overrides);
        if (overrides.containsKey("lr_decay_iters")) {
            return base.withMaxIters(steps);
        }
        Map<String, String> scaled = new java.util.LinkedHashMap<>(overrides);
        scaled.put("lr_decay_iters", String.valueOf(steps));
        if (!overrides.containsKey("warmup_iters")) {
            long warmup = Math.round((double) base.warmupIters() * steps / base.lrDecayIters());
            scaled.put("warmup_iters", String.valueOf(Math.min(warmup, steps)));
        }
        return load(preset, scaled).withMaxIters(steps);
    }

    /**
     * The name of every training setting: the keys {@link #load} accepts as overrides (and a
     * tuner's search space may vary), as reference.conf declares them.
     */
    public static Set<String> keys() {
        return java.util.Collections.unmodifiableSet(
                new TreeSet<>(ConfigFactory.defaultReference().getConfig(ROOT).root().keySet()));
    }

    private static String quoteKey(String key) {
        return "\"" + key + "\"";
    }

    /** Reads and validates settings from a config holding the troupe.train keys at its root. */
    public static TrainSettings from(Config c) {
        if (!c.hasPath(MAX_NONFINITE_STEPS)) {
            // Settings written before the key existed (a job.json, a tuner study) take the default.
            c = c.withFallback(ConfigFactory.defaultReference().getConfig(ROOT).withOnlyPath(MAX_NONFINITE_STEPS));
        }
        java.util.List<String> addedLater = new java.util.ArrayList<>(
                java.util.List.of(LR_BODY_SCALE, LR_LAYER_DECAY, ARCH, ACTIVATION_CHECKPOINTING, ORT_ARENA,
                        AllReduceOverlap.OVERLAP, AllReduceOverlap.BUCKETS, PRECISION, LOSS_SCALE_WINDOW));
        addedLater.addAll(SYNC_KEYS);
        for (String added : addedLater) {
            if (!c.hasPath(added)) {
                c = c.withFallback(ConfigFactory.defaultReference().getConfig(ROOT).withOnlyPath(added));
            }
        }
        Reader r = new Reader(c);
        TrainSettings s = new TrainSettings(
                r.intIn("n_layer", 1, 1024), r.intIn("n_head", 1, 1024), r.intIn("n_embd", 1, 65536),
                r.intIn("block_size", 1, 1 << 20), r.doubleIn("dropout", 0, 0.999), r.bool("bias"),
                r.bool("tied_embeddings"),
                r.intIn("batch_size", 1, 1 << 20), r.intIn("grad_accum", 1, 1 << 20),
                r.longIn("max_iters", 1, Long.MAX_VALUE), r.doubleIn("learning_rate", 0, 10), r.doubleIn("min_lr", 0, 10),
                r.longIn("warmup_iters", 0, Long.MAX_VALUE), r.longIn("lr_decay_iters", 1, Long.MAX_VALUE),
                r.bool("decay_lr"),
                r.doubleIn("beta1", 0, 0.999999), r.doubleIn("beta2", 0, 0.999999), r.doubleIn("weight_decay", 0, 10),
                r.doubleIn("grad_clip", 0, Double.MAX_VALUE), r.intIn(MAX_NONFINITE_STEPS, 1, 1 << 20),
                r.longIn("eval_interval", 1, Long.MAX_VALUE), r.intIn("eval_iters", 1, 1 << 20),
                r.longIn("log_interval", 1, Long.MAX_VALUE), r.longIn("checkpoint_interval", 0, Long.MAX_VALUE),
                r.intIn("keep_checkpoints", 1, 1000),
                r.longIn("seed", Long.MIN_VALUE, Long.MAX_VALUE),
                r.doubleIn(LR_BODY_SCALE, 0, 100), r.doubleIn(LR_LAYER_DECAY, 0, 1), r.oneOf(ARCH, GPT, BERT),
                r.checkpointing(), r.bool(ORT_ARENA),
                new SyncSettings(SyncSettings.parseMode(r.string(SyncSettings.MODE)),
                        r.intIn(SyncSettings.INNER_STEPS, 1, 1 << 24), r.doubleIn(SyncSettings.OUTER_LR, 0, 100),
                        r.doubleIn(SyncSettings.OUTER_MOMENTUM, 0, 0.999999)),
                new AllReduceOverlap(r.bool(AllReduceOverlap.OVERLAP), r.intIn(AllReduceOverlap.BUCKETS, 1, 1 << 16)),
                r.precision(), r.intIn(LOSS_SCALE_WINDOW, 1, 1 << 30));
        if (s.precision == Precision.BF16_STORAGE && (s.isEncoder() || s.overlap.on() || s.sync.diloco())) {
            throw new SettingsException("precision bf16-storage is built for the GPT one-graph synchronous step"
                    + " (arch = gpt, overlap_allreduce = false, sync = allreduce); set precision=fp32 or change those"
                    + " settings");
        }
        if (s.precision == Precision.FP16 && (s.isEncoder() || s.overlap.on())) {
            throw new SettingsException("precision fp16 is built for the GPT one-graph step (arch = gpt,"
                    + " overlap_allreduce = false); set precision=fp32 or change those settings");
        }
        if (s.nEmbd % s.nHead != 0) {
            throw new SettingsException("n_embd (" + s.nEmbd + ") must be divisible by n_head (" + s.nHead + ")");
        }
        if (s.batchSize % s.gradAccum != 0) {
            throw new SettingsException("batch_size (" + s.batchSize + ") must be divisible by grad_accum ("
                    + s.gradAccum + ")");
        }
        if (s.decayLr && s.warmupIters > s.lrDecayIters) {
            throw new SettingsException("warmup_iters (" + s.warmupIters + ") must not exceed lr_decay_iters ("
                    + s.lrDecayIters + "); lower warmup_iters, or raise lr_decay_iters (with --steps it follows the run)");
        }
        if (s.overlap.on() && s.isEncoder()) {
            throw new SettingsException("overlap_allreduce applies to GPT training (arch = gpt), not to the encoder;"
                    + " set overlap_allreduce=false");
        }
        if (s.overlap.on() && s.sync.diloco()) {
            throw new SettingsException("overlap_allreduce overlaps the per-step gradient all-reduce, which DiLoCo"
                    + " (sync = diloco) does not do; set overlap_allreduce=false or sync=sync");
        }
        if (s.minLr > s.learningRate) {
            throw new SettingsException("min_lr (" + s.minLr + ") must not exceed learning_rate (" + s.learningRate + ")");
        }
        return s;
    }

    /** Typed, range-checked access with messages that name the key. */
    private record Reader(Config c) {
        private void require(String key) {
            if (!c.hasPath(key)) {
                throw new SettingsException("setting '" + key + "' is missing");
            }
        }

        long longIn(String key, long min, long max) {
            require(key);
            long v;
            boolean whole;
            try {
                v = c.getLong(key);
                // getLong truncates a fraction without complaint: n_layer=2.5 would silently be 2.
                whole = c.getDouble(key) == v;
            } catch (ConfigException e) {
                whole = false;
                v = 0;
            }
            if (!whole) {
                throw new SettingsException("setting " + key + " must be an integer, got '" + c.getValue(key).unwrapped() + "'");
            }
            if (v < min || v > max) {
                throw new SettingsException("setting " + key + " = " + v + " is out of range; it must be "
                        + (max == Long.MAX_VALUE ? ">= " + min : "in [" + min + ", " + max + "]"));
            }
            return v;
        }

        int intIn(String key, int min, int max) {
            return (int) longIn(key, min, max);
        }

        double doubleIn(String key, double min, double max) {
            require(key);
            double v;
            try {
                v = c.getDouble(key);
            } catch (ConfigException e) {
                throw new SettingsException("setting " + key + " must be a number, got '" + c.getValue(key).unwrapped() + "'");
            }
            if (!(v >= min && v <= max)) {
                throw new SettingsException("setting " + key + " = " + v + " is out of range; it must be in ["
                        + min + ", " + (max == Double.MAX_VALUE ? "inf" : max) + "]");
            }
            return v;
        }

        String oneOf(String key, String... allowed) {
            require(key);
            String v = String.valueOf(c.getValue(key).unwrapped());
            if (!java.util.List.of(allowed).contains(v)) {
                throw new SettingsException("setting " + key + " must be one of " + java.util.List.of(allowed)
                        + ", got '" + v + "'");
            }
            return v;
        }

        Precision precision() {
            require(PRECISION);
            try {
                return Precision.parse(c.getString(PRECISION));
            } catch (ConfigException | IllegalArgumentException e) {
                throw new SettingsException("setting " + PRECISION + " must be one of " + Precision.labels()
                        + ", got '" + c.getValue(PRECISION).unwrapped() + "'");
            }
        }

        ActivationCheckpointing checkpointing() {
            require(ACTIVATION_CHECKPOINTING);
            try {
                return ActivationCheckpointing.parse(c.getString(ACTIVATION_CHECKPOINTING));
            } catch (ConfigException | IllegalArgumentException e) {
                throw new SettingsException("setting " + ACTIVATION_CHECKPOINTING + " must be none or attention, got '"
                        + c.getValue(ACTIVATION_CHECKPOINTING).unwrapped() + "'");
            }
        }

        String string(String key) {
            require(key);
            try {
                return c.getString(key);
            } catch (ConfigException e) {
                throw new SettingsException("setting " + key + " must be a string, got '" + c.getValue(key).unwrapped() + "'");
            }
        }

        boolean bool(String key) {
            require(key);
            try {
                return c.getBoolean(key);
            } catch (ConfigException e) {
                throw new SettingsException("setting " + key + " must be true or false, got '" + c.getValue(key).unwrapped() + "'");
            }
        }
    }

    /** This with another step count (the --steps flag). */
    public TrainSettings withMaxIters(long steps) {
        if (steps < 1) {
            throw new SettingsException("--steps must be >= 1, got " + steps);
        }
        return new TrainSettings(nLayer, nHead, nEmbd, blockSize, dropout, bias, tiedEmbeddings, batchSize, gradAccum,
                steps, learningRate, minLr, warmupIters, lrDecayIters, decayLr, beta1, beta2, weightDecay, gradClip,
                maxNonfiniteSteps, evalInterval, evalIters, logInterval, checkpointInterval, keepCheckpoints, seed,
                lrBodyScale, lrLayerDecay, arch, activationCheckpointing, ortArena, sync, overlap,
                precision, lossScaleWindow);
    }

    /** This with another seed (the --seed flag). */
    public TrainSettings withSeed(long newSeed) {
        return new TrainSettings(nLayer, nHead, nEmbd, blockSize, dropout, bias, tiedEmbeddings, batchSize, gradAccum,
                maxIters, learningRate, minLr, warmupIters, lrDecayIters, decayLr, beta1, beta2, weightDecay, gradClip,
                maxNonfiniteSteps, evalInterval, evalIters, logInterval, checkpointInterval, keepCheckpoints, newSeed,
                lrBodyScale, lrLayerDecay, arch, activationCheckpointing, ortArena, sync, overlap,
                precision, lossScaleWindow);
    }

    /**
     * These settings with the model shape of {@code cfg} (layers, heads, width, context, biases,
     * tying): a fine-tuning run takes its architecture from the source model and only its
     * training recipe (and dropout) from the preset and overrides.
     */
    public TrainSettings withArchitecture(GptConfig cfg) {
        return new TrainSettings(cfg.nLayer(), cfg.nHead(), cfg.nEmbd(), cfg.blockSize(), dropout, cfg.bias(),
                cfg.tiedEmbeddings(), batchSize, gradAccum, maxIters, learningRate, minLr, warmupIters, lrDecayIters,
                decayLr, beta1, beta2, weightDecay, gradClip, maxNonfiniteSteps, evalInterval, evalIters, logInterval,
                checkpointInterval, keepCheckpoints, seed, lrBodyScale, lrLayerDecay, arch, activationCheckpointing, ortArena,
                sync, overlap, precision, lossScaleWindow);
    }

    /** True for a masked-language-model encoder ({@code arch = bert}). */
    public boolean isEncoder() {
        return BERT.equals(arch);
    }

    /**
     * The encoder these settings describe ({@code arch = bert}): BERT's post-LayerNorm, exact GELU,
     * epsilon 1e-12, MLP width 4C, with the MLM head tied to the token embeddings. {@code bias}
     * and {@code tied_embeddings} do not apply (an encoder always has both).
     */
    public EncoderConfig encoder(int vocabSize) {
        return EncoderConfig.bert(vocabSize, blockSize, nLayer, nHead, nEmbd, dropout, true);
    }

    /** The model being trained, whichever family: its layout and size. */
    public Backbone backbone(int vocabSize) {
        return isEncoder() ? encoder(vocabSize) : model(vocabSize);
    }

    /** The model shape for a tokenizer with {@code vocabSize} tokens. */
    public GptConfig model(int vocabSize) {
        return new GptConfig(vocabSize, blockSize, nLayer, nHead, nEmbd, dropout, bias, tiedEmbeddings);
    }

    /** Sequences per micro-batch. */
    public int microBatch() {
        return batchSize / gradAccum;
    }

    /** The learning-rate schedule these settings describe. */
    public LearningRateSchedule schedule() {
        return decayLr ? new LearningRateSchedule(learningRate, minLr, warmupIters, lrDecayIters)
                : LearningRateSchedule.constant(learningRate);
    }

    /** Every setting as a JSON object with nanoGPT key names. */
    public ObjectNode toJson(ObjectMapper mapper) {
        ObjectNode o = mapper.createObjectNode();
        o.put("n_layer", nLayer).put("n_head", nHead).put("n_embd", nEmbd).put("block_size", blockSize)
                .put("dropout", dropout).put("bias", bias).put("tied_embeddings", tiedEmbeddings)
                .put("batch_size", batchSize).put("grad_accum", gradAccum).put("max_iters", maxIters)
                .put("learning_rate", learningRate).put("min_lr", minLr).put("warmup_iters", warmupIters)
                .put("lr_decay_iters", lrDecayIters).put("decay_lr", decayLr).put("beta1", beta1).put("beta2", beta2)
                .put("weight_decay", weightDecay).put("grad_clip", gradClip)
                .put(MAX_NONFINITE_STEPS, maxNonfiniteSteps).put("eval_interval", evalInterval)
                .put("eval_iters", evalIters).put("log_interval", logInterval)
                .put("checkpoint_interval", checkpointInterval).put("keep_checkpoints", keepCheckpoints)
                .put("seed", seed).put(LR_BODY_SCALE, lrBodyScale).put(LR_LAYER_DECAY, lrLayerDecay).put(ARCH, arch)
                .put(ACTIVATION_CHECKPOINTING, activationCheckpointing.label()).put(ORT_ARENA, ortArena)
                .put(SyncSettings.MODE, sync.mode().key()).put(SyncSettings.INNER_STEPS, sync.innerSteps())
                .put(SyncSettings.OUTER_LR, sync.outerLr()).put(SyncSettings.OUTER_MOMENTUM, sync.outerMomentum())
                .put(AllReduceOverlap.OVERLAP, overlap.on()).put(AllReduceOverlap.BUCKETS, overlap.buckets())
                .put(PRECISION, precision.label()).put(LOSS_SCALE_WINDOW, lossScaleWindow);
        return o;
    }

    /**
     * The settings a checkpoint must agree with to be resumed: everything that shapes the
     * model or the trajectory, but not how long to run or how often to log and save.
     */
    public ObjectNode resumeIdentity(ObjectMapper mapper, int vocabSize) {
        ObjectNode o = toJson(mapper);
        o.remove(java.util.List.of("max_iters", "log_interval", "checkpoint_interval", "keep_checkpoints",
                "eval_interval", "eval_iters", MAX_NONFINITE_STEPS, ACTIVATION_CHECKPOINTING,
                ORT_ARENA, AllReduceOverlap.OVERLAP, AllReduceOverlap.BUCKETS, PRECISION, LOSS_SCALE_WINDOW));
        // At their defaults the discriminative rates are left out, so checkpoints written before
        // the keys existed keep the identity they were saved with.
        if (lrBodyScale == 1) {
            o.remove(LR_BODY_SCALE);
        }
        if (lrLayerDecay == 1) {
            o.remove(LR_LAYER_DECAY);
        }
        if (GPT.equals(arch)) {
            o.remove(ARCH);
        }
        // Sync data parallelism leaves the DiLoCo keys out, so checkpoints written before they
        // existed keep their identity; a DiLoCo run's outer optimizer shapes its trajectory.
        if (!sync.diloco()) {
            o.remove(SYNC_KEYS);
        }
        o.put("vocab_size", vocabSize);
        return o;
    }
}
