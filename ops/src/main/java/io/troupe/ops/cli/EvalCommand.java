package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
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
            "Given a dataset from troupe prepare, score its val split (it must use the model's tokenizer)."},
        mixinStandardHelpOptions = true)
final class EvalCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--data", required = true, paramLabel = "PATH",
            description = "UTF-8 text file to score, or a dataset directory (its val split is scored).")
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

    @Override
    public Integer call() throws DataException, OrtException {
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
}
