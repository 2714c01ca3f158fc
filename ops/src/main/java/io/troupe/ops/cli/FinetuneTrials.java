package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.labelled.ClassificationMetrics;
import io.troupe.data.labelled.LabelledData;
import io.troupe.data.labelled.LabelledSplit;
import io.troupe.data.labelled.StratifiedSplits;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.tuner.run.TrialExecutor;
import io.troupe.tuner.run.TrialJob;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.finetune.ClassifierTrainer;
import io.troupe.worker.finetune.EncodedExamples;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The trials of a fine-tuning study ({@code tune --finetune-from SOURCE}): each trial fine-tunes
 * the source as a classifier with the trial's settings (learning rate, {@code lr_body_scale},
 * {@code lr_layer_decay}, dropout, weight decay, ...) on one stratified, seeded split of the
 * labelled data, and reports at every evaluation its validation <em>error</em> (1 - accuracy, or
 * 1 - macro-F1): the study minimises what trials report, so the best trial is the most accurate.
 * LoRA, freezing and pooling are the study's, the same for every trial.
 *
 * <p>The split is the study's, not the trial's: every trial is scored on the same examples. A
 * classifier keeps no checkpoints, so a trial a resumed study restarts trains again from step 0.
 */
final class FinetuneTrials implements TrialExecutor {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a trial reports. */
    enum Objective {
        ACCURACY, MACRO_F1;

        static Objective parse(String text) {
            return switch (text) {
                case "accuracy" -> ACCURACY;
                case "macro_f1" -> MACRO_F1;
                default -> throw UserError.usage("--objective must be accuracy or macro_f1, got '" + text + "'");
            };
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final SourceModel source;
    private final LabelledData data;
    private final LabelledSplit split;
    private final Pooling pooling;
    private final TrainingScope scope;
    private final LoraConfig lora;
    private final Objective objective;
    private final int threads;

    /**
     * @param valFraction the share of every class held out to score the trials
     * @param splitSeed the split's seed (the study's)
     */
    FinetuneTrials(SourceModel source, LabelledData data, double valFraction, long splitSeed, Pooling pooling,
                   TrainingScope scope, LoraConfig lora, Objective objective, int threads) {
        this.source = source;
        this.data = data;
        this.split = StratifiedSplits.split(data, valFraction, splitSeed);
        this.pooling = pooling;
        this.scope = scope;
        this.lora = lora;
        this.objective = objective;
        this.threads = threads;
    }

    @Override
    public long run(TrialJob job, TrainListener listener) throws Exception {
        TrainSettings settings = job.settings().withArchitecture(source.config());
        Tokenizer tokenizer = source.tokenizer();
        ClassifierSetup setup = ClassifierSetup.of(settings, source, tokenizer, data.labels().size(), pooling, scope,
                lora);
        EncodedExamples train = EncodedExamples.encode(split.train().examples(), tokenizer, setup.cfg().blockSize());
        EncodedExamples val = EncodedExamples.encode(split.val().examples(), tokenizer, setup.cfg().blockSize());
        ClassifierTrainer.ValidationObjective reported = objective == Objective.ACCURACY
                ? ClassifierTrainer.ValidationObjective.ERROR_RATE
                : (predicted, gold, loss) -> 1 - ClassificationMetrics.of(data.labels(), gold.labels(), predicted)
                        .macroF1();
        ClassifierTrainer.Result result = new ClassifierTrainer(settings, setup.cfg(), setup.head(), setup.start(),
                EngineOptions.cpu(threads)).reporting(reported).run(train, val, listener);
        ClassificationMetrics metrics = ClassificationMetrics.of(data.labels(), val.labels(), result.valPredicted());
        ObjectNode summary = JSON.createObjectNode().put("task", "classify").put("objective", objective.label())
                .put("last_step", result.lastStep()).put("val_accuracy", metrics.accuracy())
                .put("val_macro_f1", metrics.macroF1()).put("val_loss", result.valLoss())
                .put("trainable_parameters", setup.start().trainable().count())
                .put("source", source.path()).put("source_sha256", source.sha256());
        summary.set("config", settings.toJson(JSON));
        Files.createDirectories(job.dir());
        AtomicFiles.writeString(job.dir().resolve("summary.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n");
        return result.lastStep();
    }
}
