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

    @Option(names = "--workers", paramLabel = "N", description = "Workers to wait for before the first step.")
    private Integer workers;

    @Option(names = "--min-workers", paramLabel = "N",
            description = "Below this many workers the job pauses until more join (default: 1).")
    private Integer minWorkers;

    @Option(names = "--max-workers", paramLabel = "N",
            description = "The ring takes at most this many workers; more wait in reserve (default: --workers).")
    private Integer maxWorkers;

    @Option(names = "--data", paramLabel = "FILE", description = "UTF-8 text; every worker must see the same file at this path.")
    private Path data;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory (on a disk rank 0 can write too).")
    private Path out;

    @Option(names = "--resume", paramLabel = "DIR",
            description = "Continue the job of run directory DIR from its newest good checkpoint, after a coordinator "
                    + "crash, with the same or other workers.")
    private Path resume;

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
        HostPort address = HostPort.parse(bind, "--bind");
        JobSpec job = resume != null ? resumedJob() : newJob();
        PrintWriter stdout = spec.commandLine().getOut();
        int workers = job.workers();
        Path out = job.outDir();
        JobOutcome outcome;
        try (TrainProgress progress = new TrainProgress(stdout, System.console() != null, job.settings().logInterval())) {
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

    private JobSpec newJob() throws DataException {
        if (workers == null || data == null || out == null) {
            throw UserError.usage("a new job needs --workers, --data and --out (or --resume DIR to continue one)");
        }
        if (workers < 1) {
            throw UserError.usage("--workers must be >= 1, got " + workers);
        }
        TrainSettings settings = UserError.onCommandLine(() -> {
            TrainSettings given = TrainSettings.load(preset, KeyValues.parse(overrides));
            return steps != null ? given.withMaxIters(steps) : given;
        });
        if (seed != null) {
            settings = settings.withSeed(seed);
        }
        TextCorpus corpus = TextCorpus.load(data);
        Tokenizer tokenizer = CharTokenizer.fromText(corpus.text());
        TokenSplit.encode(corpus, tokenizer, settings.blockSize()); // validates the corpus before anyone joins
        RunDirectory.prepare(out, false, force);
        int min = minWorkers == null ? 1 : minWorkers;
        int max = maxWorkers == null ? Math.max(workers, min) : maxWorkers;
        return DistributedJobs.spec(settings, tokenizer, corpus, out, workers, min, max, wire, null);
    }

    /** The job of {@code --resume DIR}, as its job.json describes it; only the steps may grow. */
    private JobSpec resumedJob() throws DataException {
        if (data != null || out != null || force || !overrides.isEmpty() || seed != null) {
            throw UserError.usage("--resume DIR continues the job as it was defined; drop --data, --out, --seed, --force "
                    + "and key=value settings (only --steps and the worker counts may change)");
        }
        io.troupe.coordinator.JobFile job;
        try {
            job = io.troupe.coordinator.JobFile.read(resume);
        } catch (java.io.IOException e) {
            throw UserError.inputData(e.getMessage());
        }
        TrainSettings settings = steps != null ? UserError.onCommandLine(() -> job.settings().withMaxIters(steps)) : job.settings();
        TextCorpus corpus = TextCorpus.load(job.dataPath());
        Tokenizer tokenizer = CharTokenizer.fromText(corpus.text());
        if (!io.troupe.worker.job.JobSettings.sha256(corpus.text()).equals(job.dataSha256())) {
            throw UserError.inputData("the corpus at " + job.dataPath() + " changed since the job started; resume with the "
                    + "same file");
        }
        int min = minWorkers == null ? job.minWorkers() : minWorkers;
        int max = maxWorkers == null ? Math.max(job.maxWorkers(), min) : maxWorkers;
        int wait = workers != null ? workers : Math.max(min, Math.min(job.workers(), max));
        return DistributedJobs.spec(settings, tokenizer, corpus, resume, wait, min, max, job.wire().name(), job.jobId());
    }
}
