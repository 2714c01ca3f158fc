package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.train.TrainSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code troupe coordinator}: runs a training job that waits for N external workers. */
@Command(name = "coordinator",
        description = {"Start a training job that waits for N workers ('troupe worker --join HOST:PORT'),",
            "runs data-parallel training on them, and writes the run into DIR."},
        mixinStandardHelpOptions = true)
final class CoordinatorCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--bind", defaultValue = "127.0.0.1:2552", paramLabel = "HOST:PORT",
            description = "Cluster address to listen on (default: ${DEFAULT-VALUE}; port 0 picks a free one).")
    private String bind;

    @Option(names = "--workers", required = true, paramLabel = "N", description = "Workers to wait for and train on.")
    private int workers;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "UTF-8 text; every worker must see the same file at this path.")
    private Path data;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Run directory (on a disk rank 0 can write too).")
    private Path out;

    @Option(names = "--preset", paramLabel = "NAME", description = "Settings preset (default: shakespeare-char-small).")
    private String preset = "shakespeare-char-small";

    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (overrides max_iters).")
    private Long steps;

    @Option(names = "--seed", paramLabel = "S", description = "Seed for initialisation, sampling and dropout.")
    private Long seed;

    @Option(names = "--wire", defaultValue = "fp32", paramLabel = "FORMAT", description = "Gradient wire format: fp32 or bf16 (default: ${DEFAULT-VALUE}).")
    private String wire;

    @Option(names = "--force", description = "Replace the run in DIR.")
    private boolean force;

    @Parameters(paramLabel = "key=value", arity = "0..*", description = "Setting overrides, e.g. learning_rate=3e-4.")
    private List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws DataException, InterruptedException {
        if (workers < 1) {
            throw new UserError("--workers must be >= 1, got " + workers);
        }
        HostPort address = HostPort.parse(bind, "--bind");
        TrainSettings settings = TrainSettings.load(preset, KeyValues.parse(overrides));
        if (steps != null) {
            settings = settings.withMaxIters(steps);
        }
        if (seed != null) {
            settings = settings.withSeed(seed);
        }
        TextCorpus corpus = TextCorpus.load(data);
        Tokenizer tokenizer = CharTokenizer.fromText(corpus.text());
        TokenSplit.encode(corpus, tokenizer, settings.blockSize()); // validates the corpus before anyone joins
        RunDirectory.prepare(out, false, force);
        JobSpec job = DistributedJobs.spec(settings, tokenizer, corpus, out, workers, wire);
        PrintWriter stdout = spec.commandLine().getOut();
        JobOutcome outcome;
        try (TrainProgress progress = new TrainProgress(stdout, System.console() != null, settings.logInterval())) {
            outcome = ClusterNode.runCoordinator(job, address.host(), address.port(), progress, bound -> {
                stdout.printf("coordinator of job %s listens on %s:%s; start %d worker(s) with:%n  troupe worker --join %s:%s%n",
                        job.jobId(), bound.getHost().get(), bound.getPort().get(), workers,
                        bound.getHost().get(), bound.getPort().get());
                stdout.flush();
            });
        }
        DistributedJobs.report(outcome, out, stdout);
        return TroupeCli.EXIT_OK;
    }
}
