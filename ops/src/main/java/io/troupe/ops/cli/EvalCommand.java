package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.data.labelled.ClassificationMetrics;
import io.troupe.data.labelled.LabelledData;
import io.troupe.data.labelled.LabelledExample;
import io.troupe.data.labelled.LabelledReader;
import io.troupe.ops.inference.ExportedClassifier;
import java.util.List;
import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.source.DataSource;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.ops.inference.Perplexity;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe eval}: loss and perplexity of an exported model on a text file or a dataset's val split. */
@Command(name = "eval", description = {"Report an exported model's loss and perplexity on a text file.",
            "Given a dataset from troupe prepare, score its val split (it must use the model's tokenizer).",
            "With --task classify, score a classifier from troupe finetune on a labelled file (TSV or JSONL):"
                + " accuracy, per-class and macro precision, recall and F1 with support, and the confusion matrix"
                + " (a table, or {\"accuracy\", \"macro_f1\", \"per_class\", \"confusion\", ...} with --json).",
            "With --task translate, translate a pairs file (source TAB reference) or a pairs dataset's test split with a"
                + " seq2seq model: corpus BLEU, chrF, length ratio and BLEU per source-length bucket."},
        mixinStandardHelpOptions = true)
final class EvalCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--data", required = true, paramLabel = "PATH",
            description = "UTF-8 text file to score, or a dataset directory (its val split is scored); for --task"
                    + " classify, a labelled TSV or JSONL file.")
    private Path data;

    @Option(names = "--batch", defaultValue = "16", paramLabel = "B", description = "Windows per ORT run (default: ${DEFAULT-VALUE}).")
    private int batch;

    @Mixin
    private JsonOption json;

    @Mixin
    private ThreadsOption threads;

    /** The {@code --json} line: mean loss in nats/token, its perplexity, and the tokens scored. */
    record Report(double loss, double perplexity, long tokens) {
    }

    @Option(names = "--task", defaultValue = "lm", paramLabel = "TASK",
            description = "lm: loss and perplexity of a language model; classify: accuracy, precision, recall, F1 and"
                    + " the confusion matrix of a classifier on a labelled file; translate: BLEU and chrF of a"
                    + " seq2seq model (default: ${DEFAULT-VALUE}).")
    private String task;

    /** translate: greedy, beam or sampling. */
    @Mixin
    private DecodingOptions decoding;

    @Option(names = "--limit", defaultValue = "0", paramLabel = "N",
            description = "translate: score N pairs spread evenly over the data (default: ${DEFAULT-VALUE}, all).")
    private int limit;

    @Option(names = "--max-bad-rows", defaultValue = "0", paramLabel = "N",
            description = "classify: rows that may be skipped (missing tab, empty text, a label the model does not"
                    + " know), each named; more is an error (default: ${DEFAULT-VALUE}).")
    private int maxBadRows;

    @Override
    public Integer call() throws DataException, OrtException {
        if (!task.equals("lm") && !task.equals("classify") && !task.equals("translate")) {
            throw new ParameterException(spec.commandLine(), "--task must be lm, classify or translate, got '" + task
                    + "'");
        }
        if (task.equals("translate")) {
            if (limit < 0) {
                throw new ParameterException(spec.commandLine(), "--limit must be >= 0, got " + limit);
            }
            return EvalTranslate.run(model, data, limit, decoding, threads.threads(), json.enabled(),
                    spec.commandLine().getOut(), spec.commandLine().getErr());
        }
        if (maxBadRows < 0) {
            throw new ParameterException(spec.commandLine(), "--max-bad-rows must be >= 0, got " + maxBadRows);
        }
        if (task.equals("classify")) {
            return classify();
        }
        if (spec.commandLine().getParseResult().hasMatchedOption("--max-bad-rows")) {
            throw UserError.usage("--max-bad-rows applies to --task classify");
        }
        if (batch < 1) {
            throw new ParameterException(spec.commandLine(), "--batch must be >= 1, got " + batch);
        }
        DataSource source = DataSource.open(data);
        try (ExportedModel m = ExportedModel.open(model, threads.threads())) {
            // A text file is encoded with the model's tokenizer; a dataset must have been made with it.
            TokenSequence scored = source.withTokenizer(m.tokenizer(), "the model's").scoredTokens();
            if (scored.length() > Integer.MAX_VALUE - 8) {
                throw UserError.inputData(data + " holds " + scored.length() + " tokens, more than eval scores at once;"
                        + " score a smaller text or dataset");
            }
            int[] tokens = new int[(int) scored.length()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = scored.get(i);
            }
            if (tokens.length < 2) {
                throw UserError.inputData(data + " holds fewer than 2 tokens; nothing to score");
            }
            Perplexity.Result r = Perplexity.of(m, tokens, batch);
            PrintWriter out = spec.commandLine().getOut();
            if (json.enabled()) {
                Json.printLine(out, new Report(r.loss(), r.perplexity(), r.tokens()));
            } else {
                out.printf("loss %.4f nats/token, perplexity %.3f over %,d tokens%n", r.loss(), r.perplexity(), r.tokens());
                out.flush();
            }
        }
        return TroupeCli.EXIT_OK;
    }

    /** Scores a labelled file with a classifier: the metrics table, or the metrics' JSON with --json. */
    private Integer classify() throws DataException, OrtException {
        try (ExportedClassifier classifier = ExportedClassifier.open(model, threads.threads())) {
            LabelledData examples = LabelledReader.forEvaluation(classifier.labels(), maxBadRows).read(data);
            PrintWriter out = spec.commandLine().getOut();
            for (var bad : examples.badRows()) {
                spec.commandLine().getErr().println("skipped " + bad);
            }
            List<String> texts = examples.examples().stream().map(LabelledExample::text).toList();
            float[][] p = classifier.probabilities(texts);
            int[] predicted = new int[p.length];
            for (int i = 0; i < p.length; i++) {
                predicted[i] = ExportedClassifier.argmax(p[i]);
            }
            ClassificationMetrics metrics = ClassificationMetrics.of(classifier.labels(), examples.labelIndices(), predicted);
            if (json.enabled()) {
                Json.printLine(out, metrics.toJson());
            } else {
                out.print(metrics.renderTable());
                out.flush();
            }
            for (String warning : metrics.warnings()) {
                spec.commandLine().getErr().println("warning: " + warning);
            }
        }
        return TroupeCli.EXIT_OK;
    }
}
