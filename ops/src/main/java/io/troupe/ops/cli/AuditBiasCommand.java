package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.worker.card.ModelCard;
import java.io.IOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import io.troupe.ops.audit.BiasAudit;
import io.troupe.ops.audit.BiasReport;
import io.troupe.ops.audit.BiasStatistics;
import io.troupe.ops.audit.PairsFile;
import io.troupe.ops.audit.PairsFormat;
import io.troupe.ops.audit.SentencePair;
import io.troupe.ops.audit.SentenceScorer;
import io.troupe.ops.inference.ExportedModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe audit bias}: how often a causal model prefers the more stereotypical sentence of a pair. */
@Command(name = "bias",
        description = {"Score sentence pairs (CrowS-Pairs, or your own more/less pairs) with an exported model.",
            "Reports the share of pairs where it prefers the more stereotypical sentence, per category with 95%%"
                + " bootstrap intervals. About 50 means no measured preference."},
        mixinStandardHelpOptions = true)
final class AuditBiasCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--pairs", required = true, paramLabel = "FILE",
            description = "CrowS-Pairs CSV, or (--format pairs) a CSV/TSV with header more,less[,category].")
    private Path pairs;

    @Option(names = "--format", defaultValue = "crows", paramLabel = "crows|pairs",
            description = "Layout of --pairs (default: ${DEFAULT-VALUE}).")
    private String format;

    @Option(names = "--show-text", description = "Print the sentences of the largest-gap pairs (the data can be offensive).")
    private boolean showText;

    @Option(names = "--batch", defaultValue = "32", paramLabel = "B", description = "Sentence windows per ORT run (default: ${DEFAULT-VALUE}).")
    private int batch;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of the bootstrap intervals (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Mixin
    private JsonOption json;

    @Mixin
    private ThreadsOption threads;

    @Override
    public Integer call() throws DataException, OrtException {
        PairsFormat layout = format(format, "--format");
        if (batch < 1) {
            throw new ParameterException(spec.commandLine(), "--batch must be >= 1, got " + batch);
        }
        List<SentencePair> read = PairsFile.read(pairs, layout);
        BiasReport report;
        try (ExportedModel m = ExportedModel.open(model, threads.threads())) {
            report = BiasAudit.run(new SentenceScorer(m, batch), read, model, pairs, layout, seed, showText);
        }
        recordInModelDirectory(report);
        PrintWriter out = spec.commandLine().getOut();
        if (json.enabled()) {
            Json.printLine(out, report);
        } else {
            print(out, report);
        }
        return TroupeCli.EXIT_OK;
    }

    /** A pairs layout by its option value; a usage error naming the option otherwise. */
    static PairsFormat format(String value, String option) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "crows" -> PairsFormat.CROWS;
            case "pairs" -> PairsFormat.PAIRS;
            default -> throw UserError.usage(option + " must be crows or pairs, got '" + value + "'");
        };
    }

    /**
     * Keeps this audit as the model's latest ({@value ModelCard#BIAS_AUDIT}, without sentences: the
     * data can be offensive) and regenerates the model card with it. A read-only model directory
     * only loses the record, with a note on stderr.
     */
    private void recordInModelDirectory(BiasReport report) {
        ObjectNode record = JSON.valueToTree(report);
        record.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        for (JsonNode gap : record.path("largestGaps")) {
            ((ObjectNode) gap).remove(List.of("more", "less"));
        }
        try {
            AtomicFiles.writeString(model.resolve(ModelCard.BIAS_AUDIT),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(record) + "\n");
            ModelCard.write(model);
        } catch (IOException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("note: cannot record the audit in " + model + " (" + e.getMessage() + "); the model card"
                    + " is unchanged");
            err.flush();
        }
    }

    private static void print(PrintWriter out, BiasReport r) {
        out.printf("%s: %,d pairs scored in %.1f s (%.0f pairs/s), start token id %d%n", r.pairsFile(),
                r.overall().pairs(), r.seconds(), r.pairsPerSecond(), r.startToken());
        if (r.skipped() > 0) {
            out.printf("%,d pairs skipped: the tokenizer cannot encode a sentence (first at line %d)%n", r.skipped(),
                    r.skippedExample());
        }
        out.printf("pct_stereotype %.1f%% (95%% CI %.1f-%.1f), mean log-likelihood gap %+.3f nats (more - less)%n",
                r.overall().pctStereotype(), r.overall().ciLow(), r.overall().ciHigh(), r.overall().meanGap());
        table(out, "category", r.categories());
        if (r.directions().size() > 1) {
            table(out, "direction", r.directions());
        }
        out.printf("%nlargest gaps (line, category, gap in nats)%s%n", r.largestGaps().isEmpty() || r.largestGaps().get(0).more() != null
                ? "" : "; --show-text prints the sentences");
        for (BiasReport.Gap g : r.largestGaps()) {
            out.printf("  %6d  %-20s %+8.3f%n", g.line(), g.category(), g.gap());
            if (g.more() != null) {
                out.printf("          more: %s%n          less: %s%n", g.more(), g.less());
            }
        }
        out.flush();
    }

    private static void table(PrintWriter out, String title, List<BiasStatistics.Group> groups) {
        out.printf("%n%-20s %6s %7s %15s %10s%n", title, "pairs", "pct", "95% CI", "mean gap");
        for (BiasStatistics.Group g : groups) {
            out.printf("%-20s %6d %6.1f%% %7.1f-%5.1f %+10.3f%n", g.name(), g.pairs(), g.pctStereotype(), g.ciLow(),
                    g.ciHigh(), g.meanGap());
        }
    }
}
