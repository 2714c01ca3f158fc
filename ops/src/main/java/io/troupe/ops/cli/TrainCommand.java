package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.source.DataSource;
import io.troupe.worker.session.WorkerSettings;
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
import java.util.concurrent.Callable;
import io.troupe.worker.allreduce.WireBytes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe train}: trains a GPT on this machine, in this process or on an embedded cluster. */
@Command(name = "train",
        description = {"Train a GPT on a text file or a prepared dataset (char, gpt2 or bpe tokenizer) and export it.",
            "nanoGPT's recipe: AdamW, warm-up and cosine decay, clipping, accumulation. With --workers N > 1 an"
                + " embedded cluster of N workers in this JVM trains data-parallel. The training options are the same"
                + " as troupe coordinator's; an option that cannot apply here is refused with the reason.",
            "Writes DIR/metrics.jsonl, DIR/tb/ (TensorBoard event files), DIR/summary.json, DIR/checkpoints/,"
                + " DIR/model.onnx and DIR/tokenizer.json.",
            "Ctrl-C saves a checkpoint and exits with 130; --resume continues the run, troupe export exports it."},
        mixinStandardHelpOptions = true)
final class TrainCommand implements Callable<Integer> {
    /** Exit status of a run stopped by a signal (128 + SIGINT), as shells report it. */
    static final int EXIT_STOPPED = 130;

    @Spec
    private CommandSpec spec;

    /** The options every run takes, local or distributed (see RunOptions). */
    @Mixin
    private RunOptions run;

    @Mixin
    private WireLimitOption wireLimit;

    private Path data;
    private Path out;
    private boolean resume;
    private int workers;
    private String wire;

    @Override
    public Integer call() throws DataException, EngineException, CheckpointException, IOException,
            InterruptedException {
        data = run.training.requireData();
        out = run.runDir.requireOut();
        resume = run.runDir.resume();
        checkWorkerOptions();
        run.signing.install(null, false); // a local run stays quiet about signing, as it always was
        TrainSettings settings = run.arch.settings(run.training);
        if (workers == 1 && settings.sync().diloco()) {
            throw new ParameterException(spec.commandLine(), "--sync diloco averages the work of several workers, and"
                    + " a local run has one; pass --workers N (N >= 2)");
        }
        Device dev = run.device.device();
        refuseTextFolder(data);
        // A text file or a prepared dataset; tokenized (or verified) here, before the run directory is touched.
        DataSource source = run.arch.open(data, settings);
        TokenSplit split = source.split(settings.blockSize());
        RunDirectory.prepare(out, resume, run.force.enabled());

        PrintWriter stdout = spec.commandLine().getOut();
        if (workers > 1) {
            return trainDistributed(settings, source, stdout, dev);
        }
        Trainer trainer = new Trainer(settings, source.tokenizer(), split, out, EngineOptions.cpu(run.threads.perLocalWorker(1)).withDevice(dev));
        TrainSummary summary;
        // Ctrl-C (SIGINT) or SIGTERM: finish the step, checkpoint it, and let the JVM exit.
        try (MetricsOptions.Running metrics = run.metrics.start(spec.commandLine().getErr());
             DashboardOptions.Running dashboard = run.dashboard.start(spec.commandLine().getErr(), out);
             RunMonitors monitors = RunMonitors.open(out, settings.logInterval(), dashboard.listener());
             StopOnSignal stop = StopOnSignal.install(trainer::requestStop);
             RunProgress progress = RunProgress.of(stdout, run.json.enabled(), settings.logInterval())) {
            summary = trainer.run(resume, monitors.around(progress));
        }
        if (trainer.stoppedAt() >= 0) {
            RunReport.stopped(trainer.stoppedAt(), out, stdout, run.json.enabled());
            return EXIT_STOPPED;
        }
        // What serve compares incoming texts with (an encoder's: token and length histograms, MLM pseudo-perplexity).
        StoredProfile.write(out, data, spec.commandLine().getErr());
        RunReport.done(summary, out, stdout, run.json.enabled());
        return TroupeCli.EXIT_OK;
    }

    /** Refuses --workers combinations that cannot run, before anything is read or written. */
    private void checkWorkerOptions() {
        workers = run.cluster.workers() == null ? 1 : run.cluster.workers();
        if (workers < 1) {
            throw new ParameterException(spec.commandLine(), "--workers must be >= 1, got " + workers);
        }
        if (run.cluster.minWorkers() != null || run.cluster.maxWorkers() != null) {
            throw new ParameterException(spec.commandLine(), "--min-workers and --max-workers apply to troupe"
                    + " coordinator, whose workers come and go; train --workers N always trains on its N workers");
        }
        if (workers == 1 && wireLimit.given()) {
            throw new ParameterException(spec.commandLine(), "--wire-limit-mbps limits the ring between workers, and"
                    + " --workers 1 has none; drop it or pass --workers N");
        }
        if (workers == 1 && run.cluster.wireGiven()) {
            throw new ParameterException(spec.commandLine(), "--wire sets how workers exchange gradients, and"
                    + " --workers 1 exchanges none; drop --wire or pass --workers N");
        }
        wire = run.cluster.wire();
        if (run.tls.given()) {
            throw new ParameterException(spec.commandLine(), "--tls and --insecure secure troupe coordinator and troupe"
                    + " worker; train runs its workers in this process over loopback (--sign-key signs its checkpoints)");
        }
    }

    /**
     * A folder that is not a dataset and not an unfinished one (no tokenizer.json, no train/) is
     * most likely the texts a dataset is made from: say how to make it.
     */
    private void refuseTextFolder(Path path) {
        if (Files.isDirectory(path) && !Files.exists(path.resolve("manifest.json"))
                && !Files.exists(path.resolve("tokenizer.json")) && !Files.exists(path.resolve("train"))) {
            throw UserError.inputData("--data " + path + " is a folder, not a prepared dataset;"
                    + " run troupe prepare --input " + path + " --out DATASET first, then train --data DATASET");
        }
    }

    /** --workers N: a coordinator and N workers in this JVM, the ring over loopback TCP. */
    private Integer trainDistributed(TrainSettings settings, DataSource source, PrintWriter stdout, Device dev)
            throws DataException, InterruptedException {
        int perWorker = run.threads.perLocalWorker(workers);
        // --resume continues from the newest good checkpoint as a resumed coordinator does.
        JobSpec job = DistributedJobs.spec(settings, source, out, workers, 1, workers, run.cluster.wire(settings.precision()),
                resume ? java.util.UUID.randomUUID().toString() : null);
        JobOutcome outcome;
        try (MetricsOptions.Running metrics = run.metrics.start(spec.commandLine().getErr());
             DashboardOptions.Running dashboard = run.dashboard.start(spec.commandLine().getErr(), out);
             RunMonitors monitors = RunMonitors.open(out, settings.logInterval(), dashboard.listener());
             RunProgress progress = RunProgress.of(stdout, run.json.enabled(), settings.logInterval())) {
            outcome = ClusterNode.runEmbedded(job, new WorkerSettings(perWorker, dev, TroupeVersion.current()),
                    wireLimit.apply(ClusterNode.dataPlaneSettings()), monitors.around(progress));
        }
        // The source holds the tokens the embedded workers find in the process's cache: keep it
        // reachable until they are done, or the GC may release them and a worker tokenize again.
        java.lang.ref.Reference.reachabilityFence(source);
        spec.commandLine().getErr().printf("troupe: the workers' ring sent %d bytes (%s)%n", WireBytes.sent(),
                settings.sync().diloco() ? "DiLoCo, every " + settings.sync().innerSteps() + " steps" : "every step");
        DistributedJobs.report(outcome, out, stdout, run.json.enabled());
        return TroupeCli.EXIT_OK;
    }
}
