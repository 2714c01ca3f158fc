package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.DataException;
import io.troupe.data.source.DataSource;
import io.troupe.worker.train.TrainSettings;
import io.troupe.worker.tls.ClusterTls;
import io.troupe.worker.run.TrainListener;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe coordinator}: runs a training job that waits for N external workers. */
@Command(name = "coordinator",
        description = {"Start a training job for worker processes on any hosts and write the run into --out DIR.",
            "It waits for --workers N 'troupe worker --join HOST:PORT' processes, then trains data-parallel on up to"
                + " --max-workers of them; workers may die, join or leave while it runs, and below --min-workers it"
                + " pauses. The training options are the same as troupe train's; --threads and --device belong to"
                + " each worker and are refused here.",
            "After a coordinator crash, '--out DIR --resume' continues the job from its newest good checkpoint."},
        mixinStandardHelpOptions = true)
final class CoordinatorCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--bind", defaultValue = "127.0.0.1:2552", paramLabel = "HOST:PORT",
            description = "Cluster address to listen on; port 0 picks a free one (default: ${DEFAULT-VALUE}).")
    private String bind;

    @Option(names = "--resume-if-exists",
            description = {"Continue the job in --out DIR if DIR already holds the job this command line defines (same"
                + " data, settings and wire), else start it: for a supervisor that restarts the coordinator with the same"
                + " command line (a Kubernetes pod). A job defined otherwise is refused."})
    private boolean resumeIfExists;

    /** The options every run takes, local or distributed (see RunOptions). */
    @Mixin
    private RunOptions run;

    @Override
    public Integer call() throws DataException, InterruptedException {
        if (run.threads.given() || run.device.given()) {
            throw new ParameterException(spec.commandLine(), "the coordinator runs no training steps; pass --threads"
                    + " and --device to each troupe worker instead");
        }
        HostPort address = HostPort.parse(bind, "--bind");
        java.util.Optional<ClusterTls> tls = run.tls.load(ClusterTls.Role.COORDINATOR, address.host(), "--bind");
        run.signing.install(tls.map(ClusterTls::hmacKey).orElse(null), true);
        JobSpec job = run.runDir.resume() ? resumedJob() : newJob();
        if (job == null) { // --resume or --resume-if-exists found the job finished: running it again would only rewrite its results
            spec.commandLine().getOut().printf("the job in %s already finished (model: %s); nothing to do%n",
                    run.runDir.out(), run.runDir.out().resolve("model.onnx"));
            return TroupeCli.EXIT_OK;
        }
        PrintWriter stdout = spec.commandLine().getOut();
        int workers = job.workers();
        Path out = job.outDir();
        JobOutcome outcome;
        try (MetricsOptions.Running metrics = run.metrics.start(spec.commandLine().getErr());
             DashboardOptions.Running dashboard = run.dashboard.start(spec.commandLine().getErr(), out);
             RunMonitors monitors = RunMonitors.open(out, job.settings().logInterval(), dashboard.listener());
             RunProgress progress = RunProgress.of(stdout, run.json.enabled(), job.settings().logInterval())) {
            TrainListener listener = monitors.around(progress);
            outcome = ClusterNode.runCoordinator(job, address.host(), address.port(), listener, tls, bound -> {
                if (run.json.enabled()) {
                    Json.printLine(stdout, new Listening("listening", job.jobId(), bound.getHost().get(),
                            (Integer) bound.getPort().get(), workers));
                    return;
                }
                stdout.printf("coordinator of job %s listens on %s:%s%s; start %d worker(s) with:%n  troupe worker --join %s:%s%s%n",
                        job.jobId(), bound.getHost().get(), bound.getPort().get(), tls.isPresent() ? " (TLS)" : "", workers,
                        bound.getHost().get(), bound.getPort().get(),
                        tls.isPresent() ? " --tls " + run.tls.directory() : "");
                stdout.flush();
            });
        }
        DistributedJobs.report(outcome, out, stdout, run.json.enabled());
        return TroupeCli.EXIT_OK;
    }

    /** The {@code --json} line saying where workers join: {@code event}, {@code job}, {@code host}, {@code port}, {@code workers}. */
    record Listening(String event, String job, String host, int port, int workers) {
    }

    private JobSpec newJob() throws DataException {
        if (run.cluster.workers() == null || run.training.data() == null || run.runDir.out() == null) {
            throw new ParameterException(spec.commandLine(), "a new job needs --workers, --data and --out"
                    + " (or --out DIR --resume to continue one)");
        }
        if (resumeIfExists && run.force.enabled()) {
            throw new ParameterException(spec.commandLine(), "--resume-if-exists keeps the job in --out DIR, --force"
                    + " replaces it; pass one of them");
        }
        int workers = run.cluster.workers();
        int min = run.cluster.minWorkers() == null ? 1 : run.cluster.minWorkers();
        int max = run.cluster.maxWorkers() == null ? Math.max(workers, min) : run.cluster.maxWorkers();
        run.cluster.check(workers, min, max);
        TrainSettings settings = run.arch.settings(run.training);
        String wire = run.cluster.wire(settings.precision());
        DataSource source = run.arch.open(run.training.data(), settings);
        source.split(settings.blockSize()); // validates the data before anyone joins
        Path out = run.runDir.out();
        if (resumeIfExists && java.nio.file.Files.exists(out.resolve(io.troupe.coordinator.JobFile.NAME))) {
            return sameJobResumed(DistributedJobs.spec(settings, source, out, workers, min, max, wire, null), source);
        }
        RunDirectory.prepare(out, false, run.force.enabled());
        return DistributedJobs.spec(settings, source, out, workers, min, max, wire, null);
    }

    /**
     * {@code --resume-if-exists} found a job in --out: it continues if it is {@code wanted}'s job.
     *
     * @return the job to continue, or null if it already finished
     */
    private JobSpec sameJobResumed(JobSpec wanted, DataSource source) {
        io.troupe.coordinator.JobFile stored;
        try {
            stored = io.troupe.coordinator.JobFile.read(wanted.outDir());
        } catch (java.io.IOException e) {
            throw UserError.inputData(e.getMessage());
        }
        String difference = SameJob.difference(stored, wanted);
        if (difference != null) {
            throw UserError.usage(wanted.outDir() + " holds a job defined otherwise (" + difference + "); start this"
                    + " one in another --out, or continue that one with --out DIR --resume");
        }
        if (SameJob.finished(wanted.outDir(), wanted.settings().maxIters())) {
            return null;
        }
        return DistributedJobs.spec(wanted.settings(), source, wanted.outDir(), wanted.workers(),
                wanted.elastic().minWorkers(), wanted.elastic().maxWorkers(), wanted.wire().name(), stored.jobId());
    }

    /**
     * The job of {@code --out DIR --resume}, as its job.json describes it; only the steps may grow.
     *
     * @return the job to continue, or null if it already trained all its steps (a larger --steps continues it)
     */
    private JobSpec resumedJob() throws DataException {
        Path resume = run.runDir.requireOut();
        if (resumeIfExists) {
            throw new ParameterException(spec.commandLine(), "--resume-if-exists goes with a new job's command line;"
                    + " drop it or --resume");
        }
        if (run.training.definesARun() || run.force.enabled() || run.cluster.wireGiven()) {
            throw new ParameterException(spec.commandLine(), "--resume continues the job as it was defined; drop"
                    + " --data, --preset, --seed, --wire, --force and key=value settings (only --steps and the worker"
                    + " counts may change)");
        }
        io.troupe.coordinator.JobFile job;
        try {
            job = io.troupe.coordinator.JobFile.read(resume);
        } catch (java.io.IOException e) {
            throw UserError.inputData(e.getMessage());
        }
        TrainSettings settings = run.training.steps() != null
                ? UserError.onCommandLine(() -> job.settings().withMaxIters(run.training.steps())) : job.settings();
        String dilocoProblem = io.troupe.worker.train.SyncSettings.problem(settings);
        if (dilocoProblem != null) {
            throw UserError.usage(dilocoProblem); // a DiLoCo job grown by --steps must still end on an outer step
        }
        DataSource source = DataSource.open(job.dataPath());
        if (!source.identity().sha256().equals(job.dataSha256())) {
            throw UserError.inputData("the " + source.identity().kind().label() + " at " + job.dataPath()
                    + " changed since the job started; resume with the same data");
        }
        int min = run.cluster.minWorkers() == null ? job.minWorkers() : run.cluster.minWorkers();
        int max = run.cluster.maxWorkers() == null ? Math.max(job.maxWorkers(), min) : run.cluster.maxWorkers();
        int wait = run.cluster.workers() != null ? run.cluster.workers() : Math.max(min, Math.min(job.workers(), max));
        run.cluster.check(wait, min, max);
        if (SameJob.finished(resume, settings.maxIters())) {
            return null; // nothing left to train: running would only rewrite summary.json without a step
        }
        return DistributedJobs.spec(settings, source, resume, wait, min, max, job.wire().name(), job.jobId());
    }
}
