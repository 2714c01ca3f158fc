package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.ops.inference.ExportedEncoder;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe fill-mask}: the most likely tokens for each [MASK] of a text, by an MLM encoder. */
@Command(name = "fill-mask", description = {"Predict the tokens hidden by [MASK] in a text with a masked-language"
            + " model (troupe train --arch bert): for each [MASK], the --top-k tokens and their probabilities.",
            "With --pll, prints the text's pseudo-log-likelihood instead (the sum of log p(token) with each token"
                + " masked in turn; the text then needs no [MASK])."},
        mixinStandardHelpOptions = true)
final class FillMaskCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    private CommandSpec spec;

    @Mixin
    private EncoderModelOption model;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text, e.g. \"The [MASK] sat on the mat.\"")
    private String text;

    @Option(names = "--top-k", defaultValue = "5", paramLabel = "K", description = "Candidates per [MASK] (default: ${DEFAULT-VALUE}).")
    private int topK;

    @Option(names = "--pll", description = "Print the pseudo-log-likelihood of --text instead of filling masks.")
    private boolean pll;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    @Override
    public Integer call() throws DataException, OrtException {
        if (topK < 1) {
            throw UserError.usage("--top-k must be >= 1, got " + topK);
        }
        if (text.isBlank()) {
            throw UserError.usage("--text is empty");
        }
        if (!pll && !text.contains("[MASK]")) {
            throw UserError.usage("--text has no [MASK]; put [MASK] where a word should be predicted, e.g."
                    + " \"The [MASK] sat on the mat.\" (or pass --pll to score the text)");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (ExportedEncoder encoder = model.open(false, threads.threads())) {
            if (!encoder.hasMlmHead()) {
                throw UserError.usage("--model has no masked-language-model head (a sentence encoder); fill-mask"
                        + " needs an MLM model, e.g. from troupe train --arch bert");
            }
            if (pll) {
                double score = encoder.pseudoLogLikelihood(text);
                if (json.enabled()) {
                    Json.printLine(out, JSON.createObjectNode().put("text", text).put("pll", score));
                } else {
                    out.printf(Locale.ROOT, "%.4f%n", score);
                }
            } else {
                List<List<ExportedEncoder.Candidate>> masks;
                try {
                    masks = encoder.fillMask(text, topK);
                } catch (IllegalArgumentException e) {
                    throw UserError.usage(e.getMessage());
                }
                for (int m = 0; m < masks.size(); m++) {
                    if (json.enabled()) {
                        ObjectNode o = JSON.createObjectNode().put("mask", m);
                        ArrayNode arr = o.putArray("candidates");
                        for (ExportedEncoder.Candidate c : masks.get(m)) {
                            arr.addObject().put("token", c.token()).put("id", c.id()).put("probability", c.probability());
                        }
                        Json.printLine(out, o);
                    } else {
                        for (ExportedEncoder.Candidate c : masks.get(m)) {
                            out.printf(Locale.ROOT, "%s[MASK %d] %-15s %.4f%n", masks.size() > 1 ? "" : "", m + 1,
                                    c.token(), c.probability());
                        }
                    }
                }
            }
            out.flush();
            if (encoder.truncated() > 0) {
                spec.commandLine().getErr().println("troupe: note: the text was longer than the model's position"
                        + " table and was cut");
            }
        }
        return TroupeCli.EXIT_OK;
    }
}
