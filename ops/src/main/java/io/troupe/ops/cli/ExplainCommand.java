package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.ops.explain.ExplainMethod;
import io.troupe.ops.explain.ExplainOptions;
import io.troupe.ops.explain.Explainer;
import io.troupe.ops.explain.Explanation;
import io.troupe.ops.explain.ExplanationHtml;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe explain}: which tokens of a text a model's decision rests on. */
@Command(name = "explain", description = {"Attribute a model's decision to the tokens of a text.",
            "For a classifier the score is the logit of --target (a label; default: the predicted one); for a"
                + " language model the log-probability of the next token (--target next-token, the default: the most"
                + " likely one) or of a given continuation (--target TEXT). Gradients come from Troupe's own autodiff"
                + " of the model with respect to the token embeddings. integrated-gradients starts from zero token"
                + " embeddings (an encoder classifier's: [MASK] at every word, [CLS] and [SEP] kept) and reports"
                + " f(x), f(baseline) and the completeness error |sum - (f(x) - f(b))|."
                + " A text longer than the context is truncated (a classifier keeps its first tokens, a language"
                + " model its last) and stderr says so. With --json: {\"tokens\",\"attributions\",\"target\","
                + "\"score\",\"baseline_score\",\"completeness_error\"}."},
        mixinStandardHelpOptions = true)
final class ExplainCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "An exported model: the --out of troupe train, or of troupe finetune --task classify.")
    private Path model;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text to explain.")
    private String text;

    @Option(names = "--target", paramLabel = "LABEL|next-token|TEXT",
            description = "What to explain: a classifier's label, or a language model's next token or continuation.")
    private String target;

    @Option(names = "--method", paramLabel = "NAME", defaultValue = "integrated-gradients",
            description = "grad-x-input, integrated-gradients or attention-rollout (default: ${DEFAULT-VALUE}).")
    private String method;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "32",
            description = "Integrated-gradients steps, 1 to 1024 (default: ${DEFAULT-VALUE}).")
    private int steps;

    @Option(names = "--html", paramLabel = "FILE", description = "Also write a self-contained page colouring the tokens.")
    private Path html;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    @Override
    public Integer call() throws DataException, OrtException, IOException {
        if (text.isEmpty()) {
            throw UserError.usage("--text is empty; pass the text to explain");
        }
        ExplainOptions options = new ExplainOptions(ExplainMethod.parse(method), target, steps);
        Explanation e;
        long start = System.nanoTime();
        try (Explainer explainer = Explainer.open(model, threads.threads())) {
            e = explainer.explain(text, options);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        PrintWriter err = spec.commandLine().getErr();
        if (e.truncated() > 0) {
            err.println("note: the text is longer than the model's context; " + e.truncated()
                    + " tokens were left out and are not explained");
            err.flush();
        }
        if (html != null) {
            AtomicFiles.writeString(html, ExplanationHtml.render(e));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json.enabled()) {
            Json.printLine(out, e.toJson(JSON));
        } else {
            out.printf(Locale.ROOT, "target %s  score %.6g  (%s, %.2f s)%n", e.target(), e.score(), e.method().label(),
                    seconds);
            if (e.baselineScore() != null) {
                out.printf(Locale.ROOT, "baseline: %s  f(b) = %.6g  completeness error %.3g%n", e.baseline(),
                        e.baselineScore(), e.completenessError());
            }
            for (int i = 0; i < e.tokens().size(); i++) {
                out.printf(Locale.ROOT, "%+.6f\t%s%n", e.attributions()[i], visible(e.tokens().get(i)));
            }
        }
        out.flush();
        return TroupeCli.EXIT_OK;
    }

    /** A token as one readable field: whitespace escaped. */
    private static String visible(String token) {
        return token.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
    }
}
