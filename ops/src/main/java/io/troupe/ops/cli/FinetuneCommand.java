package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.io.AtomicFiles;
import io.troupe.worker.card.ModelCard;
import io.troupe.data.labelled.ClassificationMetrics;
import io.troupe.data.labelled.FoldSummary;
import io.troupe.data.labelled.LabelledData;
import io.troupe.data.labelled.LabelledReader;
import io.troupe.data.labelled.LabelledSplit;
import io.troupe.data.labelled.StratifiedSplits;
import io.troupe.data.source.DataSource;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.gpt.Trainable;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.finetune.ClassifierTrainer;
import io.troupe.worker.finetune.SpecialTokens;
import io.troupe.worker.finetune.EncodedExamples;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.finetune.FinetuneJob;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.worker.run.AdapterFile;
import io.troupe.worker.run.ClassifierExport;
import io.troupe.worker.run.Trainer;
import io.troupe.worker.run.TrainSummary;
import io.troupe.worker.train.TrainSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe finetune}: continues a pretrained GPT on a new corpus, or trains it as a text classifier. */
@Command(name = "finetune",
        description = {"Fine-tune a model: --task lm continues language-model training on a new corpus;"
                + " --task classify adds a classification head and trains it on labelled texts (TSV text<TAB>label"
                + " or JSONL {\"text\",\"label\"}).",
            "--from is a troupe run directory or checkpoint file, hf:DIR (a Hugging Face GPT-2 directory), or none with --preset NAME (the same recipe from"
                + " random weights: the from-scratch baseline). The architecture comes from the source; the training"
                + " recipe (learning rate, batch, steps, dropout) from --preset and key=value settings;"
                + " lr_body_scale=F and lr_layer_decay=D set discriminative learning rates (the body at F x the rate,"
                + " each lower block D x slower, the head at the rate).",
            "Writes DIR/summary.json (source and its SHA-256, trainable and total parameters, labels, validation"
                + " metrics), DIR/model.onnx, DIR/tokenizer.json and, for classify, DIR/labels.json. With --folds K"
                + " it cross-validates instead and writes only summary.json."},
        mixinStandardHelpOptions = true)
final class FinetuneCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    private CommandSpec spec;

    @Option(names = "--from", required = true, paramLabel = "SOURCE",
            description = "A troupe run directory or checkpoint file; a seq2seq model directory (train-seq2seq's; fine-tunes"
                    + " on a pairs dataset prepared with its tokenizer: prepare --pairs ... --pairs-tokenizer DIR); hf:DIR, a Hugging Face GPT-2 directory (config.json,"
                    + " model.safetensors, vocab.json + merges.txt or tokenizer.json); onnx:FILE.onnx, a BERT-family"
                    + " encoder's ONNX export (with --tokenizer, --task classify); or none (with --preset) to start"
                    + " from random weights.")
    private String from;

    @Option(names = "--task", defaultValue = "lm", paramLabel = "TASK",
            description = "lm (continue language modelling) or classify; translate for a seq2seq model from troupe"
                    + " train-seq2seq (its default) (default: ${DEFAULT-VALUE}).")
    private String task;

    @Option(names = "--freeze", paramLabel = "embeddings|N",
            description = "Freeze the embeddings, or the embeddings and the first N blocks.")
    private String freeze;

    @Option(names = "--train", defaultValue = "all", paramLabel = "WHAT",
            description = "all, or head: train only the classification head (a linear probe) (default: ${DEFAULT-VALUE}).")
    private String train;

    @Option(names = "--pooling", defaultValue = "last", paramLabel = "P",
            description = "How classify pools a text: last (the last real token's state; a causal model's only"
                    + " position that saw the whole text), mean (over real tokens; the default for an encoder) or"
                    + " cls (an encoder's [CLS] position) (default for a GPT: ${DEFAULT-VALUE}).")
    private String pooling;

    @Option(names = "--val-fraction", defaultValue = "0.1", paramLabel = "F",
            description = "classify: share of every class held out, stratified and seeded (default: ${DEFAULT-VALUE}).")
    private double valFraction;

    @Option(names = "--folds", paramLabel = "K",
            description = "classify: K-fold stratified cross-validation; reports mean ± std of accuracy and macro-F1.")
    private Integer folds;

    @Option(names = "--early-stop",
            description = "classify: hold out a stratified --val-fraction of the training examples (of each fold's,"
                    + " with --folds), score it at every eval_interval and keep the parameters of the best evaluation"
                    + " (accuracy, ties by loss); the reported metrics are on the held-out split or fold, which"
                    + " never chooses.")
    private boolean earlyStop;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "With --from onnx:FILE.onnx: the encoder's Hugging Face tokenizer.json (WordPiece). With --from none: the tokenizer.json (or a directory holding one: a dataset or run) the"
                    + " random model uses, e.g. the pretrained model's, so that scratch and transfer share the"
                    + " architecture and its vocabulary. Without it classify builds a character vocabulary from"
                    + " the labelled texts and lm uses the corpus's tokenizer.")
    private Path tokenizerPath;

    @Option(names = "--max-tokens", paramLabel = "N",
            description = "classify: cut each text to its first N tokens (counted in summary.json as truncated_examples);"
                    + " default: the model's position table (block_size). Batches are padded to the longest text, so a"
                    + " few long texts make every step slower.")
    private Integer maxTokens;

    @Option(names = "--max-bad-rows", defaultValue = "0", paramLabel = "N",
            description = "classify: rows that may be skipped (missing tab, empty text), each named; more is an error"
                    + " (default: ${DEFAULT-VALUE}).")
    private int maxBadRows;

    @Option(names = "--lora-rank", paramLabel = "R",
            description = "Train low-rank adapters (LoRA) of rank R instead of the model's weights; the export merges"
                    + " them into a plain model.onnx and also writes adapter.safetensors.")
    private Integer loraRank;

    @Option(names = "--lora-alpha", defaultValue = "16", paramLabel = "A",
            description = "LoRA scale numerator: the adapters add (A / R) x A B (default: ${DEFAULT-VALUE}).")
    private double loraAlpha;

    @Option(names = "--lora-targets", defaultValue = "attn,proj", paramLabel = "LIST",
            description = "Linears to adapt in every block: attn (c_attn), proj (attn.c_proj), mlp (c_fc and"
                    + " mlp.c_proj), comma-separated (default: ${DEFAULT-VALUE}).")
    private String loraTargets;

    @Option(names = "--lora-dropout", defaultValue = "0.05", paramLabel = "P",
            description = "Dropout on the LoRA path's input while training (default: ${DEFAULT-VALUE}).")
    private double loraDropout;

    @Option(names = "--workers", defaultValue = "1", paramLabel = "N",
            description = "Fine-tune on an embedded cluster of N workers in this process, on the same step path as"
                    + " train --workers N: only the trainable part is all-reduced and checkpointed; --task lm resumes"
                    + " with --resume. A classifier trains on one stratified --val-fraction split (no --folds,"
                    + " --early-stop or --max-tokens) (default: ${DEFAULT-VALUE}).")
    private int workers;

    @Option(names = "--bind", paramLabel = "HOST:PORT",
            description = "With --workers N: be the coordinator of N worker processes on any hosts ('troupe worker"
                    + " --join HOST:PORT', as for troupe coordinator) instead of running them in this process; the"
                    + " data and --out must be on the same path on every node (workers read the starting parameters"
                    + " from DIR/start.safetensors). Port 0 picks a free one.")
    private String bind;

    @Mixin
    private TlsOptions tls;

    /** --bind's address and the cluster's TLS identity, once checked. */
    private HostPort bindAddress;
    private java.util.Optional<io.troupe.worker.tls.ClusterTls> clusterTls = java.util.Optional.empty();

    @Mixin
    private TrainingOptions training;

    @Mixin
    private RunDirOptions runDir;

    @Mixin
    private ForceOption force;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private DeviceOption device;

    @Mixin
    private JsonOption json;

    /**
     * What --task classify changes in the preset's recipe (key=value settings still win). The
     * presets' peak learning rate of 1e-3 is for pretraining; fine-tuning a classifier with it
     * kept the training loss at ~ln 2 on sentiment-labelled-sentences (val accuracy 0.56 after
     * 800 steps from a pretrained char model) where 3e-4 learns (0.68): docs/BENCHMARKS.md.
     * Not for LoRA, whose zero-initialised adapters did better at 1e-3 (5-fold 0.633 vs 0.543).
     */
    static final Map<String, String> CLASSIFY_DEFAULTS = Map.of("learning_rate", "3e-4", "min_lr", "3e-5");

    @Override
    public Integer call() throws DataException, EngineException, CheckpointException, IOException {
        if (Seq2SeqFinetune.isSource(from)) {
            return new Seq2SeqFinetune(spec.commandLine(), training, threads.threads(), workers,
                    workers > 1 ? threads.perLocalWorker(workers) : threads.threads())
                    .run(Path.of(from), training.requireData(), runDir.requireOut(), task, force.enabled());
        }
        Path data = training.requireData();
        Path out = runDir.requireOut();
        boolean classify = checkOptions();
        TrainingScope scope = usage(() -> TrainingScope.parse(freeze, train));
        LoraConfig lora = lora(scope);
        TrainSettings settings = training.settings(classify && lora == null ? CLASSIFY_DEFAULTS : Map.of());
        if (classify && settings.precision() != io.troupe.model.gpt.Precision.FP32) {
            throw UserError.usage("--precision " + settings.precision().label() + " applies to language-model steps"
                    + " (--task lm), not to --task classify; use --precision fp32");
        }
        boolean scratch = from.equals("none");
        if (EncoderSource.matches(from) || EncoderSource.isEncoderClassifierRun(from)) {
            if (!classify) {
                throw UserError.usage("--from " + from + " is an encoder, which has no next-token head; use --task classify");
            }
            EncoderSource encoder = EncoderSource.load(from, tokenizerPath);
            return classify(data, out, settings, scope, lora, null, null, encoder, engineOptions(), spec.commandLine().getOut());
        }
        if (scratch && !spec.commandLine().getParseResult().hasMatchedOption("--preset")) {
            throw UserError.usage("--from none trains from random weights and needs the architecture: pass --preset NAME");
        }
        if (!scratch && tokenizerPath != null) {
            throw UserError.usage("--tokenizer applies to --from none, --from onnx:FILE.onnx and a BERT hf:DIR; a Troupe run or a GPT-2 hf:DIR brings its own tokenizer");
        }
        Tokenizer given = tokenizerPath == null ? null : Tokenizer.load(tokenizerPath);
        SourceModel source = scratch ? null : SourceModel.load(from, classify);
        if (source != null) {
            settings = settings.withArchitecture(source.config());
        }
        PrintWriter stdout = spec.commandLine().getOut();
        EngineOptions engine = engineOptions();
        if (classify) {
            return classify(data, out, settings, scope, lora, source, given, null, engine, stdout);
        }
        return languageModel(data, out, settings, scope, lora, source, given, engine, stdout);
    }

    private EngineOptions engineOptions() {
        return EngineOptions.cpu(threads.perLocalWorker(1)).withDevice(device.device());
    }

    /** The LoRA settings, or null without --lora-rank; LoRA freezes the whole base model itself. */
    private LoraConfig lora(TrainingScope scope) {
        var parsed = spec.commandLine().getParseResult();
        if (loraRank == null) {
            for (String option : List.of("--lora-alpha", "--lora-targets", "--lora-dropout")) {
                if (parsed.hasMatchedOption(option)) {
                    throw UserError.usage(option + " sets up LoRA; pass --lora-rank R too");
                }
            }
            return null;
        }
        if (!scope.equals(TrainingScope.ALL)) {
            throw UserError.usage("--lora-rank trains only the adapters (and a classification head) already;"
                    + " drop --freeze and --train");
        }
        return usage(() -> new LoraConfig(loraRank, loraAlpha, LoraConfig.parseTargets(loraTargets), loraDropout));
    }

    /** What trains: the scope's selection, or with LoRA the adapters and any classification head. */
    static Trainable select(TrainingScope scope, LoraConfig lora, Backbone cfg, ParameterLayout extended) {
        if (lora == null) {
            return select(scope, cfg, extended);
        }
        return Trainable.of(extended, name -> LoraConfig.isAdapter(name) || name.startsWith(ClassifierGraphs.HEAD_PREFIX));
    }

    /** Refuses options that do not apply to the task, before anything is read; true for classify. */
    private boolean checkOptions() {
        if (!task.equals("lm") && !task.equals("classify")) {
            throw new ParameterException(spec.commandLine(), "--task must be lm or classify, got '" + task + "'");
        }
        boolean classify = task.equals("classify");
        var parsed = spec.commandLine().getParseResult();
        if (!classify) {
            for (String option : List.of("--pooling", "--val-fraction", "--folds", "--max-bad-rows", "--early-stop", "--max-tokens")) {
                if (parsed.hasMatchedOption(option)) {
                    throw UserError.usage(option + " applies to --task classify; --task lm splits its corpus 90/10");
                }
            }
            if (train.equals("head")) {
                throw UserError.usage("--train head trains a classification head; use it with --task classify");
            }
        } else {
            if (runDir.resume()) {
                throw UserError.usage("--resume continues --task lm runs; a classifier keeps no checkpoints, run it again");
            }
            if (folds != null && folds < 2) {
                throw new ParameterException(spec.commandLine(), "--folds must be >= 2, got " + folds);
            }
            if (!(valFraction > 0 && valFraction < 1)) {
                throw new ParameterException(spec.commandLine(), "--val-fraction must be > 0 and < 1, got " + valFraction);
            }
            if (maxTokens != null && maxTokens < 3) {
                throw new ParameterException(spec.commandLine(), "--max-tokens must be >= 3, got " + maxTokens);
            }
            if (maxBadRows < 0) {
                throw new ParameterException(spec.commandLine(), "--max-bad-rows must be >= 0, got " + maxBadRows);
            }
        }
        if (workers < 1) {
            throw new ParameterException(spec.commandLine(), "--workers must be >= 1, got " + workers);
        }
        if (bind != null && workers < 2) {
            throw UserError.usage("--bind coordinates a cluster of worker processes; pass --workers N (N >= 2) too");
        }
        if (tls.given() && bind == null) {
            throw UserError.usage("--tls and --insecure secure a --bind coordinator; embedded workers talk over loopback");
        }
        if (bind != null && (parsed.hasMatchedOption("--threads") || parsed.hasMatchedOption("--device"))) {
            throw UserError.usage("with --bind the workers run the steps; pass --threads and --device to each troupe"
                    + " worker instead");
        }
        if (bind != null) {
            // Checked before anything is read or written: an address off loopback needs --tls or --insecure.
            bindAddress = HostPort.parse(bind, "--bind");
            clusterTls = tls.load(io.troupe.worker.tls.ClusterTls.Role.COORDINATOR, bindAddress.host(), "--bind");
        }
        if (workers > 1 && classify) {
            for (String option : List.of("--folds", "--early-stop", "--max-tokens")) {
                if (parsed.hasMatchedOption(option)) {
                    throw UserError.usage(option + " applies to a local classifier (--workers 1); --workers N trains"
                            + " one stratified --val-fraction split");
                }
            }
        }
        if (workers > 1 && (EncoderSource.matches(from) || EncoderSource.isEncoderClassifierRun(from))) {
            throw UserError.usage("--workers N fine-tunes a GPT; an encoder (" + from + ") fine-tunes locally (--workers 1)");
        }
        usage(() -> Pooling.parse(pooling));
        return classify;
    }

    private Integer languageModel(Path data, Path out, TrainSettings settings, TrainingScope scope, LoraConfig lora,
                                  SourceModel source, Tokenizer given,
                                  EngineOptions engine, PrintWriter stdout)
            throws DataException, EngineException, CheckpointException, IOException {
        DataSource corpus = DataSource.open(data);
        Tokenizer tokenizer = corpus.tokenizer();
        if (source != null) {
            corpus = corpus.withTokenizer(source.tokenizer(), "the source model's");
            tokenizer = source.tokenizer();
        } else if (given != null) {
            corpus = corpus.withTokenizer(given, "--tokenizer's");
            tokenizer = given;
        }
        GptConfig cfg = settings.model(tokenizer.vocabSize());
        ParameterLayout layout = ParameterLayout.of(cfg);
        float[] initial = source != null ? source.parameters() : ParameterInit.gpt2(cfg, layout, settings.seed());
        if (lora != null) {
            layout = lora.extend(layout, cfg);
            initial = lora.initialValues(layout, initial, settings.seed());
        }
        Trainable trainable = select(scope, lora, cfg, layout);
        TokenSplit split = corpus.split(settings.blockSize());
        RunDirectory.prepare(out, runDir.resume(), force.enabled());
        StoredProfile.deleteStale(out);
        announce(stdout, trainable, lora == null ? scope.describe() : lora.describe());
        Map<String, Object> extra = summaryExtra("lm", source, trainable, lora);
        if (workers > 1) {
            StartingPoint start = new StartingPoint(initial, trainable, lora);
            FinetuneJob job = DistributedFinetune.describe(out, runDir.resume(), "lm", start, List.of(), "last", 0, 0,
                    0, 0);
            JobSpec cluster = DistributedJobs.spec(settings, corpus, out, workers, 1, workers, "fp32",
                    runDir.resume() ? java.util.UUID.randomUUID().toString() : null).finetuning(job);
            JobOutcome outcome;
            try (RunProgress progress = RunProgress.of(stdout, json.enabled(), settings.logInterval())) {
                outcome = runCluster(cluster, progress, stdout);
            }
            extra.put("workers", workers);
            DistributedFinetune.addToSummary(out, extra);
            StoredProfile.write(out, data, spec.commandLine().getErr());
            RunReport.done(outcome.summary(), out, stdout, json.enabled());
            return TroupeCli.EXIT_OK;
        }
        Trainer trainer = new Trainer(settings, tokenizer, split, out, engine,
                new StartingPoint(initial, trainable, lora), extra);
        TrainSummary summary;
        try (StopOnSignal stop = StopOnSignal.install(trainer::requestStop);
             RunProgress progress = RunProgress.of(stdout, json.enabled(), settings.logInterval())) {
            summary = trainer.run(runDir.resume(), progress);
        }
        if (trainer.stoppedAt() >= 0) {
            RunReport.stopped(trainer.stoppedAt(), out, stdout, json.enabled());
            return TrainCommand.EXIT_STOPPED;
        }
        StoredProfile.write(out, data, spec.commandLine().getErr());
        RunReport.done(summary, out, stdout, json.enabled());
        return TroupeCli.EXIT_OK;
    }

    private Integer classify(Path data, Path out, TrainSettings settings, TrainingScope scope, LoraConfig lora,
                             SourceModel source, Tokenizer given, EncoderSource encoder,
                             EngineOptions engine, PrintWriter stdout) throws DataException, EngineException, IOException {
        SourceModel.Classifier continued = source != null ? source.classifier()
                : encoder != null ? encoder.classifier() : null;
        if (continued != null && workers > 1) {
            throw UserError.usage("--from " + from + " is a classifier; continuing one trains locally (--workers 1)");
        }
        LabelledData examples = continued == null ? LabelledReader.forTraining(maxBadRows).read(data)
                : ContinuedClassifier.read(data, continued, from, maxBadRows);
        for (var bad : examples.badRows()) {
            spec.commandLine().getErr().println("skipped " + bad);
        }
        Tokenizer tokenizer;
        Backbone cfg;
        float[] pretrained;
        SpecialTokens specials = null;
        String defaultPooling = pooling;
        if (encoder != null) {
            tokenizer = encoder.tokenizer();
            cfg = encoder.encoder().config().withDropout(settings.dropout());
            // A continued encoder classifier brings its head too: then the whole classifier's parameters.
            pretrained = encoder.classifier() != null ? encoder.classifierParameters() : encoder.encoder().parameters();
            specials = usage(() -> SpecialTokens.of(encoder.tokenizer()));
            if (!spec.commandLine().getParseResult().hasMatchedOption("--pooling")) {
                defaultPooling = Pooling.MEAN.label();    // what sentence encoders such as all-MiniLM-L6-v2 use
            }
        } else {
            tokenizer = source != null ? source.tokenizer() : given != null ? given
                    : CharTokenizer.fromText(examples.examples().stream().map(e -> e.text()).collect(Collectors.joining()));
            cfg = settings.model(tokenizer.vocabSize());
            pretrained = source != null ? source.parameters() : null;
        }
        if (continued != null) {
            defaultPooling = ContinuedClassifier.pooling(continued, from,
                    spec.commandLine().getParseResult().hasMatchedOption("--pooling") ? pooling : null).label();
        }
        String poolingName = defaultPooling;
        Pooling chosenPooling = usage(() -> Pooling.parse(poolingName));
        ClassifierSetup setup = usage(() -> ClassifierSetup.of(settings, cfg, pretrained, examples.labels().size(),
                chosenPooling, scope, lora));
        ClassifierHead head = setup.head();
        ParameterLayout layout = setup.layout();
        StartingPoint start = setup.start();
        Trainable trainable = start.trainable();
        RunDirectory.prepare(out, false, force.enabled());
        StoredProfile.deleteStale(out);
        announce(stdout, trainable, lora == null ? scope.describe() : lora.describe());
        Map<String, Object> extra = summaryExtra("classify", source, trainable, lora);
        if (encoder != null) {
            @SuppressWarnings("unchecked")
            Map<String, String> src = (Map<String, String>) extra.get("source");
            src.put("path", encoder.path());
            src.put("sha256", encoder.sha256());
            extra.put("arch", "bert");
        }
        extra.put("labels", examples.labels().names());
        if (continued != null) {
            extra.put("continued_classifier", true);    // the head and its labels came from --from, not fresh
        }
        extra.put("pooling", head.pooling().label());
        extra.put("examples", examples.size());
        extra.put("bad_rows", examples.badRows().stream().map(Object::toString).toList());
        extra.put("data", Map.of("path", data.toString(), "sha256", SourceModel.sha256(data)));
        long wallStart = System.nanoTime();
        if (workers > 1) {
            return classifyOnCluster(data, examples, tokenizer, cfg, head, start, settings, stdout, out, extra,
                    wallStart);
        }
        if (folds != null) {
            return crossValidate(examples, tokenizer, specials, cfg, head, start, settings, engine, stdout, out, extra,
                    wallStart);
        }
        extra.put("early_stop", earlyStop);
        LabelledSplit split = StratifiedSplits.split(examples, valFraction, settings.seed());
        Fitted fitted;
        try (RunProgress progress = RunProgress.of(stdout, json.enabled(), settings.logInterval())) {
            fitted = fit(split, tokenizer, cfg, head, specials, start, settings, engine, progress);
        }
        ClassifierTrainer.Result result = fitted.result();
        EncodedExamples trainSet = fitted.train();
        EncodedExamples valSet = fitted.reported();
        ClassificationMetrics metrics = ClassificationMetrics.of(examples.labels(), valSet.labels(), fitted.predicted());
        tokenizer.save(out);
        ClassifierExport.write(out, cfg, head, start.exported(result.trainableParameters(), layout, cfg),
                examples.labels(), specials == null ? null : specials.toMetadata());
        if (lora != null) {
            AdapterFile.write(out, lora, trainable.layout(), result.trainableParameters());
        }
        extra.put("train_examples", trainSet.size());
        extra.put("val_examples", valSet.size());
        extra.put("val_loss", fitted.loss());
        extra.put("final_train_loss", result.finalTrainLoss());
        if (earlyStop) {
            extra.put("kept_step", result.keptStep());
            extra.put("selection_examples", fitted.selection().size());
        }
        extra.put("val_accuracy", metrics.accuracy());
        extra.put("val_macro_f1", metrics.macroF1());
        extra.put("val_metrics", metrics.toJson());
        extra.put("step_ms", result.stepMillis());
        extra.put("dropped_characters", trainSet.droppedCharacters() + valSet.droppedCharacters());
        extra.put("truncated_examples", trainSet.truncated() + valSet.truncated());
        writeSummary(out, settings, tokenizer, extra, wallStart);
        StoredProfile.write(out, data, spec.commandLine().getErr());
        if (json.enabled()) {
            ObjectNode done = JSON.createObjectNode().put("event", "done").put("val_accuracy", metrics.accuracy())
                    .put("val_macro_f1", metrics.macroF1()).put("val_loss", fitted.loss())
                    .put("model", out.resolve("model.onnx").toString());
            Json.printLine(stdout, done);
        } else {
            stdout.printf("validation (%d examples): accuracy %.4f, macro-F1 %.4f, loss %.4f%n", valSet.size(),
                    metrics.accuracy(), metrics.macroF1(), fitted.loss());
            stdout.print(metrics.renderTable());
            stdout.printf("model: %s%n", out.resolve("model.onnx"));
            stdout.flush();
        }
        return TroupeCli.EXIT_OK;
    }

    /** Runs a --workers N job: embedded workers, or with --bind the coordinator of external ones. */
    private JobOutcome runCluster(JobSpec cluster, io.troupe.worker.run.TrainListener listener, PrintWriter stdout) {
        if (bind == null) {
            return DistributedFinetune.run(cluster, threads.perLocalWorker(workers), device.device(), listener);
        }
        return DistributedFinetune.coordinate(cluster, bindAddress, clusterTls, listener, stdout, json.enabled());
    }

    /**
     * --workers N: the classifier trains on the cluster's step path on one stratified split; the
     * exported model is then scored on the split's val part here.
     */
    private Integer classifyOnCluster(Path data, LabelledData examples, Tokenizer tokenizer, Backbone cfg,
                                      ClassifierHead head, StartingPoint start, TrainSettings settings,
                                      PrintWriter stdout, Path out, Map<String, Object> extra, long wallStart)
            throws IOException, DataException {
        LabelledSplit split = StratifiedSplits.split(examples, valFraction, settings.seed());
        FinetuneJob job = DistributedFinetune.describe(out, false, "classify", start, examples.labels().names(),
                head.pooling().label(), valFraction, maxTokens(cfg), maxBadRows, split.train().size());
        JobSpec cluster = DistributedJobs.spec(settings, tokenizer, data, SourceModel.sha256(data), out, workers, 1,
                workers, io.troupe.worker.allreduce.WireFormat.FP32, null).finetuning(job);
        try (RunProgress progress = RunProgress.of(stdout, json.enabled(), settings.logInterval())) {
            runCluster(cluster, progress, stdout);
        }
        List<String> texts = split.val().examples().stream().map(e -> e.text()).toList();
        int[] gold = split.val().examples().stream().mapToInt(e -> e.label()).toArray();
        int[] predicted = new int[texts.size()];
        try (io.troupe.ops.inference.ExportedClassifier exported =
                     io.troupe.ops.inference.ExportedClassifier.open(out, threads.threads())) {
            float[][] p = exported.probabilities(texts);
            for (int i = 0; i < p.length; i++) {
                predicted[i] = io.troupe.ops.inference.ExportedClassifier.argmax(p[i]);
            }
        } catch (ai.onnxruntime.OrtException e) {
            throw new IOException("scoring the exported classifier failed: " + e.getMessage(), e);
        }
        ClassificationMetrics metrics = ClassificationMetrics.of(examples.labels(), gold, predicted);
        extra.put("workers", workers);
        extra.put("train_examples", split.train().size());
        extra.put("val_examples", texts.size());
        extra.put("val_accuracy", metrics.accuracy());
        extra.put("val_macro_f1", metrics.macroF1());
        extra.put("val_metrics", metrics.toJson());
        DistributedFinetune.addToSummary(out, extra);
        if (json.enabled()) {
            Json.printLine(stdout, JSON.createObjectNode().put("event", "done").put("val_accuracy", metrics.accuracy())
                    .put("val_macro_f1", metrics.macroF1()).put("model", out.resolve("model.onnx").toString()));
        } else {
            stdout.printf("validation (%d examples): accuracy %.4f, macro-F1 %.4f%n", texts.size(), metrics.accuracy(),
                    metrics.macroF1());
            stdout.print(metrics.renderTable());
            stdout.printf("model: %s%n", out.resolve("model.onnx"));
            stdout.flush();
        }
        return TroupeCli.EXIT_OK;
    }

    private Integer crossValidate(LabelledData examples, Tokenizer tokenizer, SpecialTokens specials, Backbone cfg,
                                  ClassifierHead head,
                                  StartingPoint start, TrainSettings settings, EngineOptions engine, PrintWriter stdout,
                                  Path out, Map<String, Object> extra, long wallStart)
            throws DataException, EngineException, IOException {
        List<LabelledSplit> parts = StratifiedSplits.folds(examples, folds, settings.seed());
        double[] accuracy = new double[parts.size()];
        double[] macroF1 = new double[parts.size()];
        ArrayNode perFold = JSON.createArrayNode();
        for (int f = 0; f < parts.size(); f++) {
            Fitted fitted = fit(parts.get(f), tokenizer, cfg, head, specials, start, settings, engine,
                    new FoldProgress(stdout, json.enabled(), f + 1, parts.size()));
            ClassifierTrainer.Result result = fitted.result();
            EncodedExamples valSet = fitted.reported();
            ClassificationMetrics m = ClassificationMetrics.of(examples.labels(), valSet.labels(), fitted.predicted());
            accuracy[f] = m.accuracy();
            macroF1[f] = m.macroF1();
            ObjectNode fold = perFold.addObject().put("fold", f + 1).put("accuracy", m.accuracy())
                    .put("macro_f1", m.macroF1()).put("val_loss", fitted.loss()).put("step_ms", result.stepMillis());
            if (earlyStop) {
                fold.put("kept_step", result.keptStep());
            }
            if (json.enabled()) {
                Json.printLine(stdout, JSON.createObjectNode().put("event", "fold").put("fold", f + 1)
                        .put("accuracy", m.accuracy()).put("macro_f1", m.macroF1()));
            } else {
                stdout.printf("fold %d/%d: accuracy %.4f, macro-F1 %.4f (%d val examples, %.1f ms/step)%n", f + 1,
                        parts.size(), m.accuracy(), m.macroF1(), valSet.size(), result.stepMillis());
                stdout.flush();
            }
        }
        extra.put("early_stop", earlyStop);
        FoldSummary acc = new FoldSummary("accuracy", accuracy);
        FoldSummary f1 = new FoldSummary("macro_f1", macroF1);
        extra.put("folds", perFold);
        extra.put("cv_accuracy", acc.toJson());
        extra.put("cv_macro_f1", f1.toJson());
        writeSummary(out, settings, tokenizer, extra, wallStart);
        if (json.enabled()) {
            ObjectNode done = JSON.createObjectNode().put("event", "done").put("folds", parts.size());
            done.set("accuracy", acc.toJson());
            done.set("macro_f1", f1.toJson());
            Json.printLine(stdout, done);
        } else {
            stdout.printf("%d-fold cross-validation: accuracy %.4f ± %.4f, macro-F1 %.4f ± %.4f%n", parts.size(),
                    acc.mean(), acc.std(), f1.mean(), f1.std());
            stdout.flush();
        }
        return TroupeCli.EXIT_OK;
    }

    /**
     * One training run on a split: without --early-stop on its train part, scored on its val part;
     * with it, on a stratified --val-fraction of the train part held out to choose the kept
     * parameters, and scored on the val part, which never chooses.
     *
     * @param train the examples trained on
     * @param selection the examples that choose the parameters (null without --early-stop)
     * @param reported the examples the metrics are of
     * @param predicted the class predicted for each of {@code reported}
     * @param loss the mean loss on {@code reported}
     */
    private record Fitted(ClassifierTrainer.Result result, EncodedExamples train, EncodedExamples selection,
                          EncodedExamples reported, int[] predicted, double loss) {
    }

    private Fitted fit(LabelledSplit split, Tokenizer tokenizer, Backbone cfg, ClassifierHead head,
                       SpecialTokens specials, StartingPoint start, TrainSettings settings, EngineOptions engine,
                       io.troupe.worker.run.TrainListener listener) throws EngineException {
        EncodedExamples reported = EncodedExamples.encode(split.val().examples(), tokenizer, maxTokens(cfg), specials);
        ClassifierTrainer trainer = new ClassifierTrainer(settings, cfg, head, start, engine);
        if (!earlyStop) {
            EncodedExamples train = EncodedExamples.encode(split.train().examples(), tokenizer, maxTokens(cfg), specials);
            ClassifierTrainer.Result r = trainer.run(train, reported, listener);
            return new Fitted(r, train, null, reported, r.valPredicted(), r.valLoss());
        }
        LabelledSplit inner = StratifiedSplits.split(split.train(), valFraction, settings.seed() + 1);
        EncodedExamples train = EncodedExamples.encode(inner.train().examples(), tokenizer, maxTokens(cfg), specials);
        EncodedExamples selection = EncodedExamples.encode(inner.val().examples(), tokenizer, maxTokens(cfg), specials);
        ClassifierTrainer.Result r = trainer.keepingBest().run(train, selection, reported, listener);
        return new Fitted(r, train, selection, reported, r.testPredicted(), r.testLoss());
    }

    /** The longest text a classifier reads: --max-tokens, at most the position table. */
    private int maxTokens(Backbone cfg) {
        return maxTokens == null ? cfg.blockSize() : Math.min(maxTokens, cfg.blockSize());
    }

    /** A value an option's text was refused for (IllegalArgumentException from the model's parsers) is a usage error. */
    private static <T> T usage(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw UserError.usage(e.getMessage(), e);
        }
    }

    private static Trainable select(TrainingScope scope, Backbone cfg, ParameterLayout layout) {
        try {
            return scope.select(cfg, layout);
        } catch (IllegalArgumentException e) {
            throw UserError.usage(e.getMessage(), e);
        }
    }

    private void announce(PrintWriter stdout, Trainable trainable, String what) {
        if (json.enabled()) {
            Json.printLine(stdout, JSON.createObjectNode().put("event", "trainable")
                    .put("trainable_parameters", trainable.count()).put("total_parameters", trainable.full().size())
                    .put("percent", trainable.percent()));
        } else {
            stdout.printf("trainable parameters: %,d of %,d (%.2f%%), %s%n", trainable.count(), trainable.full().size(),
                    trainable.percent(), what);
            stdout.flush();
        }
    }

    private Map<String, Object> summaryExtra(String taskName, SourceModel source, Trainable trainable, LoraConfig lora) {
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("task", taskName);
        Map<String, String> src = new LinkedHashMap<>();
        src.put("from", from);
        if (source != null) {
            src.put("path", source.path());
            src.put("sha256", source.sha256());
        }
        extra.put("source", src);
        extra.put("trainable_parameters", trainable.count());
        extra.put("total_parameters", trainable.full().size());
        extra.put("trainable_percent", trainable.percent());
        if (lora != null) {
            extra.put("lora", Map.of("rank", lora.rank(), "alpha", lora.alpha(), "dropout", lora.dropout(),
                    "targets", lora.targets().stream().sorted().map(t -> t.name().toLowerCase(java.util.Locale.ROOT))
                            .toList()));
        }
        extra.put("trains", trainable.everything() ? "all" : trainable.layout().views().stream()
                .map(ParameterLayout.View::name).toList());
        return extra;
    }

    /** summary.json of a classifier run: the same "config" block as troupe train's, and the extras. */
    private static void writeSummary(Path out, TrainSettings settings, Tokenizer tokenizer, Map<String, Object> extra,
                                     long wallStart) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("steps", settings.maxIters());
        o.put("wall_seconds", (System.nanoTime() - wallStart) / 1e9);
        extra.forEach((key, value) -> o.set(key, JSON.valueToTree(value)));
        ObjectNode config = settings.toJson(JSON);
        config.put("vocab_size", tokenizer.vocabSize());
        config.put("tokenizer", tokenizer.type());
        o.set("config", config);
        AtomicFiles.writeString(out.resolve(Trainer.SUMMARY), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o)
                + "\n");
        ModelCard.write(out); // every run directory gets its card, as troupe train's do
    }
}
