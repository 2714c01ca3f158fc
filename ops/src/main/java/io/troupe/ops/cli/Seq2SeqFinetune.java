package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.pairs.PairDataset;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import io.troupe.worker.seq2seq.Seq2SeqRun;
import io.troupe.worker.train.TrainSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;

/**
 * {@code troupe finetune --from SEQ2SEQ_DIR --data PAIRS --out DIR}: continues training an
 * encoder-decoder from {@code train-seq2seq} on another pairs dataset (domain transfer, or more
 * steps on the same data), on the same step path as {@code train-seq2seq}: a {@code WorkerJob}
 * started from the model's parameters. The architecture and the tokenizer come from the source;
 * the dataset must have been prepared with that tokenizer. The recipe is {@code --steps},
 * {@code --seed} and the settings {@link #SETTINGS}; the optimizer's moments start at zero (a
 * model directory keeps none).
 *
 * <p>{@code --workers N} runs it on N workers in this process ({@link Seq2SeqCluster}), as
 * {@code train-seq2seq --workers N}. The GPT-only options (LoRA, freezing, classification,
 * cross-validation, {@code --bind}) are refused by name rather than ignored.
 */
final class Seq2SeqFinetune {
    /** The key=value settings a seq2seq fine-tune takes, and what they set. */
    static final Set<String> SETTINGS = Set.of("learning_rate", "batch_size", "warmup_iters", "eval_interval",
            "eval_iters");

    /** Options of `finetune` that only a GPT or an encoder can use. */
    private static final List<String> GPT_ONLY = List.of("--freeze", "--train", "--pooling", "--val-fraction", "--folds",
            "--early-stop", "--tokenizer", "--max-tokens", "--max-bad-rows", "--lora-rank", "--lora-alpha",
            "--lora-targets", "--lora-dropout", "--bind", "--preset", "--precision", "--resume", "--device", "--sync", "--inner-steps", "--outer-lr", "--outer-momentum");

    /** Fine-tuning defaults: a tenth of train-seq2seq's peak rate, a short warm-up. */
    private static final double DEFAULT_LEARNING_RATE = 1e-4;
    private static final int DEFAULT_STEPS = 500;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final CommandLine command;
    private final TrainingOptions training;
    private final int threads;
    private final int workers;
    private final int threadsPerWorker;

    /**
     * @param threads the local run's threads
     * @param workers 1 for a local run, N for N workers in this process
     * @param threadsPerWorker each embedded worker's threads (with workers > 1)
     */
    Seq2SeqFinetune(CommandLine command, TrainingOptions training, int threads, int workers, int threadsPerWorker) {
        this.command = command;
        this.training = training;
        this.threads = threads;
        this.workers = workers;
        this.threadsPerWorker = threadsPerWorker;
    }

    /** True when {@code from} names a seq2seq model directory. */
    static boolean isSource(String from) {
        return !from.contains(":") && !from.equals("none") && Seq2SeqModelDir.isSeq2Seq(Path.of(from));
    }

    /** Runs the fine-tune; returns the exit code. */
    int run(Path from, Path data, Path out, String task, boolean force) throws IOException {
        CommandLine.ParseResult parsed = command.getParseResult();
        if (parsed.hasMatchedOption("--task") && !task.equals("translate")) {
            throw UserError.usage("--from " + from + " is a seq2seq model, which fine-tunes on pairs: use --task translate"
                    + " (or leave --task out)");
        }
        for (String option : GPT_ONLY) {
            if (parsed.hasMatchedOption(option)) {
                throw UserError.usage(option + " does not apply to a seq2seq model (--from " + from + "); a seq2seq"
                        + " fine-tune trains all of its weights; drop " + option);
            }
        }
        if (!PairDataset.isPairsDataset(data)) {
            throw UserError.usage(data + " is not a pairs dataset; a seq2seq model fine-tunes on one made with"
                    + " `troupe prepare --pairs FILE... --split hash-en:90/5/5 --pairs-tokenizer " + from + " --out DIR`");
        }
        TrainSeq2SeqCommand.requireFreeOut(out, force);
        Seq2SeqModelDir source;
        PairDataset dataset;
        try {
            source = Seq2SeqModelDir.load(from);
            dataset = PairDataset.open(data);
        } catch (DataException e) {
            throw UserError.inputData(e.getMessage(), e);
        }
        if (!dataset.tokenizer().toJson().equals(source.tokenizer().toJson())) {
            throw UserError.usage(data + " was prepared with another tokenizer than the model's (" + from
                    + "/tokenizer.json); prepare the pairs again with --pairs-tokenizer " + from);
        }
        TrainSettings settings = settings();
        if (workers < 1) {
            throw UserError.usage("--workers must be at least 1, got " + workers);
        }
        if (settings.batchSize() < workers) {
            throw UserError.usage("batch_size " + settings.batchSize() + " is smaller than --workers " + workers
                    + "; every worker needs at least one pair per step");
        }
        PrintWriter err = command.getErr();
        int total = Math.toIntExact(source.config().layout().size());
        err.printf("fine-tuning seq2seq %s: %d+%d layers, C=%d, %d of %d parameters trainable (100%%), %d steps at"
                        + " learning rate %.2e%n", from, source.config().encoderLayers(), source.config().decoderLayers(),
                source.config().nEmbd(), total, total, settings.maxIters(), settings.learningRate());
        err.flush();
        String attribution = credits(source.attribution(), dataset.manifest().path("attribution").asText(""));
        if (workers > 1) {
            Seq2SeqCluster.Outcome outcome = Seq2SeqCluster.train(source.config(), dataset, data, settings,
                    source.params(), out, workers, threadsPerWorker, false, err);
            Seq2SeqModelDir exported;
            try {
                // Rank 0 credited the pairs; the model owes its source's data too.
                exported = Seq2SeqModelDir.load(out);
                new Seq2SeqModelDir(exported.config(), exported.params(), exported.tokenizer(), exported.bosId(),
                        exported.eosId(), exported.padId(), attribution).save(out);
            } catch (DataException e) {
                throw UserError.inputData(e.getMessage(), e);
            }
            DistributedFinetune.addToSummary(out, summaryFields(from, data, settings, total, outcome.trainLoss(),
                    outcome.valLoss(), outcome.msPerStep()));
            command.getOut().printf("wrote %s: val loss %.4f, %.0f ms/step on %d workers%s%n", out, outcome.valLoss(),
                    outcome.msPerStep(), workers, attribution.isEmpty() ? "" : "; data: " + attribution);
            return 0;
        }
        Seq2SeqRun.Result result;
        try {
            result = Seq2SeqRun.run(source.config(), dataset, settings, source.params(), threads, false, line -> {
                err.println(line);
                err.flush();
            }, (step, params) -> { });
        } catch (io.troupe.worker.engine.EngineException | io.troupe.worker.job.ReductionException e) {
            throw new IllegalStateException("the seq2seq training step failed: " + e.getMessage(), e);
        }
        Seq2SeqModelDir tuned = new Seq2SeqModelDir(source.config(), result.params(), source.tokenizer(), source.bosId(),
                source.eosId(), source.padId(), attribution);
        try {
            tuned.save(out);
        } catch (DataException e) {
            throw UserError.inputData(e.getMessage(), e);
        }
        writeSummary(out, summaryFields(from, data, settings, total, result.trainLoss(), result.valLoss(),
                result.msPerStep()));
        command.getOut().printf("wrote %s: val loss %.4f, %.0f ms/step%s%n", out, result.valLoss(), result.msPerStep(),
                attribution.isEmpty() ? "" : "; data: " + attribution);
        return 0;
    }

    /** The credit owed by a model trained on both sources' data: each attribution once, in order. */
    static String credits(String sourceModel, String pairs) {
        if (sourceModel.isEmpty() || sourceModel.equals(pairs)) {
            return pairs;
        }
        return pairs.isEmpty() ? sourceModel : sourceModel + "; " + pairs;
    }

    /** The job's settings from --steps, --seed and the key=value settings a seq2seq fine-tune knows. */
    private TrainSettings settings() {
        Map<String, String> given = training.givenSettings();
        Set<String> unknown = new TreeSet<>(given.keySet());
        unknown.removeAll(SETTINGS);
        if (!unknown.isEmpty()) {
            throw UserError.usage("a seq2seq fine-tune does not take " + String.join(", ", unknown) + "; its settings are "
                    + String.join(", ", new TreeSet<>(SETTINGS)));
        }
        Long stepsGiven = training.steps();
        int steps = stepsGiven == null ? DEFAULT_STEPS : Math.toIntExact(stepsGiven);
        try {
            double lr = given.containsKey("learning_rate") ? Double.parseDouble(given.get("learning_rate"))
                    : DEFAULT_LEARNING_RATE;
            int batch = given.containsKey("batch_size") ? Integer.parseInt(given.get("batch_size")) : 64;
            int warmup = given.containsKey("warmup_iters") ? Integer.parseInt(given.get("warmup_iters"))
                    : Math.min(50, steps / 10);
            int evalInterval = given.containsKey("eval_interval") ? Integer.parseInt(given.get("eval_interval"))
                    : Math.max(1, Math.min(100, steps));
            int valBatches = given.containsKey("eval_iters") ? Integer.parseInt(given.get("eval_iters")) : 20;
            long seed = training.seed() != null ? training.seed() : 1337;
            return Seq2SeqRun.settings(steps, batch, lr, warmup, evalInterval, valBatches, seed);
        } catch (NumberFormatException e) {
            throw UserError.usage("a seq2seq fine-tune setting is not a number: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw UserError.usage(e.getMessage());
        }
    }

    /** The fine-tuning fields of summary.json (a cluster run adds them to the coordinator's). */
    private static Map<String, Object> summaryFields(Path from, Path data, TrainSettings settings, int total,
                                                     double trainLoss, double valLoss, double msPerStep)
            throws IOException {
        Map<String, Object> summary = new java.util.LinkedHashMap<>();
        summary.put("task", "translate");
        summary.put("arch", "seq2seq");
        summary.put("source", Map.of("path", from.toString(),
                "sha256", SourceModel.sha256(from.resolve(Seq2SeqModelDir.PARAMS))));
        summary.put("data", Map.of("path", data.toString()));
        summary.put("trainable_parameters", total);
        summary.put("total_parameters", total);
        summary.put("steps", settings.maxIters());
        summary.put("learning_rate", settings.learningRate());
        summary.put("train_loss", trainLoss);
        summary.put("val_loss", valLoss);
        summary.put("ms_per_step", msPerStep);
        return summary;
    }

    private static void writeSummary(Path out, Map<String, Object> fields) throws IOException {
        ObjectNode summary = JSON.valueToTree(fields);
        AtomicFiles.writeString(out.resolve("summary.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary)
                + "\n");
    }

}
