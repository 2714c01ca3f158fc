package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.ops.inference.Perplexity;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe eval}: loss and perplexity of an exported model on a text. */
@Command(name = "eval", description = "Report an exported model's loss and perplexity on a text file.",
        mixinStandardHelpOptions = true)
final class EvalCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "UTF-8 text to score.")
    private Path data;

    @Option(names = "--batch", defaultValue = "16", paramLabel = "B", description = "Windows per ORT run (default: ${DEFAULT-VALUE}).")
    private int batch;

    @Option(names = "--json", description = "Print {\"loss\", \"perplexity\", \"tokens\"}.")
    private boolean json;

    @Mixin
    private ThreadsOption threads;

    record Report(double loss, double perplexity, long tokens) {
    }

    @Override
    public Integer call() throws DataException, OrtException {
        if (batch < 1) {
            throw UserError.usage("--batch must be >= 1, got " + batch);
        }
        TextCorpus corpus = TextCorpus.load(data);
        try (ExportedModel m = ExportedModel.open(model, threads.threads())) {
            int[] tokens;
            try {
                tokens = m.tokenizer().encode(corpus.text());
            } catch (IllegalArgumentException e) {
                throw UserError.inputData(data + " cannot be scored by this model: " + e.getMessage());
            }
            if (tokens.length < 2) {
                throw UserError.inputData(data + " holds fewer than 2 tokens; nothing to score");
            }
            Perplexity.Result r = Perplexity.of(m, tokens, batch);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Json.printLine(out, new Report(r.loss(), r.perplexity(), r.tokens()));
            } else {
                out.printf("loss %.4f nats/token, perplexity %.3f over %,d tokens%n", r.loss(), r.perplexity(), r.tokens());
                out.flush();
            }
        }
        return TroupeCli.EXIT_OK;
    }
}
