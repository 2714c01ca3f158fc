package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.shard.PreparedDataset;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.engine.Device;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.TrainSettings;
import io.troupe.worker.run.TrainSummary;
import io.troupe.worker.run.Trainer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code troupe train}: trains a GPT on a text file, on this machine. */
@Command(name = "train",
        description = {"Train a character-level GPT on a text file (nanoGPT's recipe) and export it.",
            "Writes DIR/metrics.jsonl, DIR/summary.json, DIR/checkpoints/, DIR/model.onnx and DIR/tokenizer.json."},
        mixinStandardHelpOptions = true)
final class TrainCommand implements Callable<Integer> {
    /** Exit status of a run stopped by a signal (128 + SIGINT), as shells report it. */
    static final int EXIT_STOPPED = 130;

    @Spec
    private CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "PATH",
            description = "UTF-8 text to train on, or a dataset directory written by troupe prepare.")
    private Path data;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Run directory.")
    private Path out;

    @Option(names = "--preset", paramLabel = "NAME",
            description = "Settings preset: shakespeare-char-small (default) or shakespeare-char.")
    private String preset = "shakespeare-char-small";

    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (overrides max_iters).")
    private Long steps;

    @Option(names = "--seed", paramLabel = "S", description = "Seed for initialisation, sampling and dropout.")
    private Long seed;

    @Mixin
    private ThreadsOption threads;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "cpu", description = "cpu or cuda:N (default: cpu).")
    private String device;

    @Option(names = "--workers", defaultValue = "1", paramLabel = "N",
            description = {"Data-parallel workers. 1 (default) trains in this process; N > 1 runs an embedded",
                "cluster: a coordinator and N workers in this JVM, all-reducing gradients over loopback TCP."})
    private int workers;

    @Option(names = "--wire", defaultValue = "fp32", paramLabel = "FORMAT",
            description = "Gradient wire format with --workers > 1: fp32 or bf16 (default: ${DEFAULT-VALUE}).")
    private String wire;

    @Option(names = "--resume", description = "Continue the run in DIR from its newest checkpoint.")
    private boolean resume;

    @Option(names = "--force", description = "Replace the run in DIR.")
    private boolean force;

    @Parameters(paramLabel = "key=value", arity = "0..*",
            description = "Setting overrides, e.g. learning_rate=3e-4 n_layer=6 (see reference.conf).")
    private List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws DataException, EngineException, CheckpointException, IOException,
            InterruptedException {
        TrainSettings settings = UserError.onCommandLine(() -> {
            TrainSettings given = TrainSettings.load(preset, KeyValues.parse(overrides));
            return steps != null ? given.withMaxIters(steps) : given;
        });
        if (seed != null) {
            settings = settings.withSeed(seed);
        }
        checkWorkerOptions();
        Device dev;
        try {
            dev = Device.parse(device);
        } catch (IllegalArgumentException e) {
            throw UserError.usage(e.getMessage());
        }
        Tokenizer tokenizer;
        TokenSplit split;
        if (Files.isDirectory(data)) {
            // A prepared dataset: its tokenizer, and memory-mapped shards verified against the manifest.
            PreparedDataset dataset = PreparedDataset.open(data);
            tokenizer = dataset.tokenizer();
            split = dataset.split(settings.blockSize());
        } else {
            TextCorpus corpus = TextCorpus.load(data);
            tokenizer = CharTokenizer.fromText(corpus.text());
            split = TokenSplit.encode(corpus, tokenizer, settings.blockSize());
        }
        RunDirectory.prepare(out, resume, force);

        PrintWriter stdout = spec.commandLine().getOut();
        if (workers > 1) {
            return trainDistributed(settings, tokenizer, stdout, dev);
        }
        Trainer trainer = new Trainer(settings, tokenizer, split, out, EngineOptions.cpu(threads.threads()).withDevice(dev));
        TrainSummary summary;
        // Ctrl-C (SIGINT) or SIGTERM: finish the step, checkpoint it, and let the JVM exit.
        try (StopOnSignal stop = StopOnSignal.install(trainer::requestStop);
             TrainProgress progress = new TrainProgress(stdout, System.console() != null, settings.logInterval())) {
            summary = trainer.run(resume, progress);
        }
        if (trainer.stoppedAt() >= 0) {
            stdout.printf("stopped at step %d; its checkpoint is in %s; continue with the same command and --resume%n",
                    trainer.stoppedAt(), out.resolve("checkpoints"));
            stdout.flush();
            return EXIT_STOPPED;
        }
        stdout.printf("done: %d steps, train loss %.4f, val loss %.4f (best %.4f), %,.0f tokens/s, %.1f s%n",
                summary.steps(), summary.finalTrainLoss(), summary.finalValLoss(), summary.bestValLoss(),
                summary.tokensPerSecond(), summary.wallSeconds());
        stdout.printf("model: %s%n", out.resolve("model.onnx"));
        stdout.flush();
        return TroupeCli.EXIT_OK;
    }

    /** Refuses --workers combinations that cannot run, before anything is read or written. */
    private void checkWorkerOptions() {
        if (workers < 1) {
            throw UserError.usage("--workers must be >= 1, got " + workers);
        }
        if (workers > 1 && Files.isDirectory(data)) {
            throw UserError.usage("--workers > 1 trains from a text file for now; train the prepared dataset " + data
                    + " with --workers 1");
        }
        try {
            WireFormat.parse(wire);
        } catch (IllegalArgumentException e) {
            throw UserError.usage("--wire " + e.getMessage());
        }
    }

    /** --workers N: a coordinator and N workers in this JVM, the ring over loopback TCP. */
    private Integer trainDistributed(TrainSettings settings, Tokenizer tokenizer, PrintWriter stdout, Device dev)
            throws DataException, InterruptedException {
        int perWorker = Math.max(1, threads.threads() / workers);
        // --resume continues from the newest good checkpoint as a resumed coordinator does.
        JobSpec job = DistributedJobs.spec(settings, tokenizer, TextCorpus.load(data), out, workers, 1, workers, wire,
                resume ? java.util.UUID.randomUUID().toString() : null);
        JobOutcome outcome;
        try (TrainProgress progress = new TrainProgress(stdout, System.console() != null, settings.logInterval())) {
            outcome = ClusterNode.runEmbedded(job, new WorkerSettings(perWorker, dev, TroupeVersion.current()),
                    ClusterNode.dataPlaneSettings(), progress);
        }
        DistributedJobs.report(outcome, out, stdout);
        return TroupeCli.EXIT_OK;
    }
}
