package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.run.StudyListener;
import io.troupe.tuner.run.StudyLock;
import io.troupe.tuner.run.StudyReports;
import io.troupe.tuner.run.StudyRunner;
import io.troupe.tuner.run.Studies;
import io.troupe.tuner.run.TrainingExecutor;
import io.troupe.tuner.sampler.Sampler;
import io.troupe.tuner.scheduler.Scheduler;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe tune}: runs (or resumes) a hyperparameter study. */
@Command(name = "tune",
        description = {"Search hyperparameters with trials (training jobs) sampled from a search space.",
            "Trials run in parallel on disjoint groups of workers; the scheduler stops poor ones early.",
            "Writes DIR/study.db (unless --storage), DIR/trials/<n>/, DIR/trials.csv and DIR/report.html."},
        mixinStandardHelpOptions = true)
final class TuneCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--space", paramLabel = "FILE", description = "Search space (HOCON), e.g. examples/tune-shakespeare-small.conf.")
    private Path space;

    @Option(names = "--data", paramLabel = "PATH", description = "UTF-8 text to train on, or a dataset directory from troupe prepare.")
    private Path data;

    @Option(names = "--out", paramLabel = "DIR", description = "Study directory.")
    private Path out;

    @Option(names = "--trials", paramLabel = "N", description = "Trials in all (a grid stops at its size).")
    private Integer trials;

    @Option(names = "--sampler", paramLabel = "NAME", description = "grid, random or tpe (default: random).")
    private String sampler;

    @Option(names = "--scheduler", paramLabel = "NAME", description = "none, asha or median (default: none).")
    private String scheduler;

    @Option(names = "--workers", defaultValue = "1", paramLabel = "W", description = "Workers in all (default: 1).")
    private int workers;

    @Option(names = "--workers-per-trial", paramLabel = "K",
            description = "Workers of each trial (default: 1); W / K trials run at once. K > 1 trains data-parallel.")
    private Integer workersPerTrial;

    @Option(names = "--steps", paramLabel = "MAX", description = "Training steps of a trial that is not stopped early.")
    private Long steps;

    @Option(names = "--seed", paramLabel = "S", description = "Sampler seed (default: 0).")
    private Long seed;

    @Option(names = "--storage", paramLabel = "JDBC_URL",
            description = "Study store (default: jdbc:sqlite:DIR/study.db), e.g. jdbc:postgresql://host:5432/db?user=u.")
    private String storage;

    @Option(names = "--resume", arity = "0..1", paramLabel = "DIR", fallbackValue = "",
            description = {"Continue the study in DIR (or --out): completed trials are kept,",
                "interrupted ones restart from their last checkpoint. Options left out keep the study's own."})
    private String resumeDir;

    private boolean resume;

    @Option(names = "--external", description = "Run the trials on W 'troupe worker --join HOST:PORT' processes "
            + "(any hosts) instead of embedded workers; they may come and go.")
    private boolean external;

    private io.troupe.coordinator.ClusterNode.JobHost host;

    @Option(names = "--bind", defaultValue = "127.0.0.1:2552", paramLabel = "HOST:PORT",
            description = "With --external: the cluster address workers join (default: ${DEFAULT-VALUE}).")
    private String bind;

    @Mixin
    private ThreadsOption threads;

    @Override
    @SuppressWarnings("try") // the lock is held by the try block, never read
    public Integer call() throws DataException, InterruptedException {
        resume = resumeDir != null;
        if (resume && !resumeDir.isEmpty()) {
            if (out != null && !Path.of(resumeDir).toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
                throw UserError.usage("--resume " + resumeDir + " and --out " + out + " name different studies; pass one of them");
            }
            out = Path.of(resumeDir);
        }
        if (out == null) {
            throw UserError.usage("say where the study lives: --out DIR (or --resume DIR)");
        }
        Path dir = out.toAbsolutePath().normalize();
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw UserError.inputData("--out " + out + " is a file, not a directory; choose another path");
        }
        if (!resume && storage == null && JdbcStudyStore.hasSqliteStore(dir)) {
            throw UserError.inputData(dir + " already holds a study; pass --resume to continue it, or choose another --out");
        }
        if (resume && storage == null && !JdbcStudyStore.hasSqliteStore(dir)) {
            throw UserError.inputData("nothing to resume: " + dir + " has no " + JdbcStudyStore.SQLITE_FILE
                    + " (if the study used --storage, pass the same --storage again)");
        }
        PrintWriter stdout = spec.commandLine().getOut();
        try (StudyLock lock = StudyLock.acquire(dir);
             StudyStore store = storage == null ? JdbcStudyStore.sqlite(dir)
                     : JdbcStudyStore.open(storage, JdbcStudyStore.DEFAULT_BUSY_TIMEOUT)) {
            String name = StudyReports.studyName(dir);
            Optional<StudyInfo> stored = resume ? store.study(name) : Optional.empty();
            if (resume && stored.isEmpty()) {
                throw UserError.inputData("nothing to resume: the store " + store.describe() + " holds no study for " + dir);
            }
            StudyInfo requested = requested(name, stored.orElse(null));
            SearchSpace searchSpace = space != null ? SearchSpace.load(space) : SearchSpace.parse(stored.get().space());
            requested = new StudyInfo(name, searchSpace.canonical(), requested.data(), requested.sampler(),
                    requested.scheduler(), requested.seed(), requested.trials(), requested.workersPerTrial(),
                    requested.steps(), requested.createdAt());
            Sampler theSampler = Sampler.create(requested.sampler(), searchSpace, requested.seed());
            Scheduler theScheduler = Scheduler.create(requested.scheduler(), searchSpace, requested.steps());
            int k = requested.workersPerTrial();
            if (workers < k || workers % k != 0) {
                throw UserError.usage("--workers " + workers + " must be a positive multiple of --workers-per-trial " + k);
            }
            int slots = workers / k;
            if (external) {
                host = startHost(stdout);
            }
            TrainingExecutor executor = new TrainingExecutor(Path.of(requested.data()), k,
                    Math.max(1, threads.threads() / workers), TroupeVersion.current(), host);
            StudyInfo study = Studies.begin(store, requested, searchSpace, resume);
            if (theSampler.size().isPresent() && theSampler.size().getAsLong() < study.trials()) {
                stdout.printf("the grid has %d points; running %d trials, not %d%n", theSampler.size().getAsLong(),
                        theSampler.size().getAsLong(), study.trials());
            }
            stdout.printf("study %s: %d trials, %d at a time on %d worker(s) each, sampler %s, scheduler %s, %d steps%n",
                    dir, study.trials(), slots, k, study.sampler(), study.scheduler(), study.steps());
            stdout.flush();
            StudyListener progress = new StudyListener() {
                @Override
                public void onTrialStart(int number, Map<String, Object> params, boolean restarted) {
                    synchronized (stdout) {
                        stdout.printf("trial %d %s: %s%n", number, restarted ? "restarted from its checkpoint" : "started",
                                describe(params));
                        stdout.flush();
                    }
                }

                @Override
                public void onTrialEnd(TrialRecord t) {
                    StudyReports.write(dir, store, study);
                    synchronized (stdout) {
                        stdout.printf(Locale.ROOT, "trial %d %s at step %d: val loss %s%s%n", t.number(), t.state(),
                                t.lastStep(), Double.isNaN(t.value()) ? "-" : String.format(Locale.ROOT, "%.4f", t.value()),
                                t.reason() == null ? "" : " (" + t.reason() + ")");
                        stdout.flush();
                    }
                }
            };
            StudyRunner runner = new StudyRunner(name, dir, searchSpace, theSampler, theScheduler, store, executor, slots,
                    study.steps(), progress);
            // Ctrl-C (or SIGTERM): every running trial checkpoints its current step and stays RUNNING.
            // Closed last: only then may the signal's hook let the JVM exit (the results and the message are out).
            try (StopOnSignal stop = StopOnSignal.install(runner::requestStop)) {
                try {
                    runner.run(study.trials());
                    StudyResults results = StudyReports.write(dir, store, study);
                    if (runner.stopRequested()) {
                        stdout.printf("stopped; running trials saved a checkpoint; continue with troupe tune --resume %s%n",
                                dir);
                        stdout.flush();
                        return TrainCommand.EXIT_STOPPED;
                    }
                    report(results, stdout);
                } finally {
                    if (host != null) {
                        host.close(); // the workers see their coordinator leave and exit
                    }
                }
            }
        }
        return TroupeCli.EXIT_OK;
    }

    /** Starts the coordinator node external workers join, and says how to start them. */
    private io.troupe.coordinator.ClusterNode.JobHost startHost(PrintWriter stdout) {
        HostPort address = HostPort.parse(bind, "--bind");
        io.troupe.coordinator.ClusterNode.JobHost started =
                io.troupe.coordinator.ClusterNode.JobHost.start(address.host(), address.port());
        org.apache.pekko.actor.Address bound = started.address();
        stdout.printf("study coordinator listens on %s:%s; start %d worker(s) with:%n  troupe worker --join %s:%s%n",
                bound.getHost().get(), bound.getPort().get(), workers, bound.getHost().get(), bound.getPort().get());
        stdout.flush();
        return started;
    }

    /** The study's settings: the flags given, else (on resume) the stored ones, else the defaults. */
    private StudyInfo requested(String name, StudyInfo stored) {
        if (stored == null) {
            for (Object[] required : new Object[][]{{space, "--space FILE"}, {data, "--data PATH"},
                {trials, "--trials N"}, {steps, "--steps MAX"}}) {
                if (required[0] == null) {
                    throw UserError.usage("a new study needs " + required[1] + " (or pass --resume to continue one)");
                }
            }
        }
        int n = trials != null ? trials : stored.trials();
        long max = steps != null ? steps : stored.steps();
        int k = workersPerTrial != null ? workersPerTrial : stored == null ? 1 : stored.workersPerTrial();
        if (n < 1 || max < 1 || k < 1) {
            throw UserError.usage("--trials, --steps and --workers-per-trial must be >= 1");
        }
        String dataPath = data != null ? data.toAbsolutePath().normalize().toString() : stored.data();
        return new StudyInfo(name, null, dataPath,
                sampler != null ? sampler : stored == null ? "random" : stored.sampler(),
                scheduler != null ? scheduler : stored == null ? "none" : stored.scheduler(),
                seed != null ? seed : stored == null ? 0 : stored.seed(), n, k, max,
                stored == null ? System.currentTimeMillis() : stored.createdAt());
    }

    private static String describe(Map<String, Object> params) {
        return params.entrySet().stream().map(e -> e.getKey() + "=" + StudyResults.format(e.getValue()))
                .collect(Collectors.joining(" "));
    }

    private void report(StudyResults results, PrintWriter stdout) {
        Map<TrialState, Long> counts = results.trials().stream()
                .collect(Collectors.groupingBy(TrialRecord::state, Collectors.counting()));
        long trained = results.trials().stream().mapToLong(t -> Math.max(0, t.lastStep())).sum();
        stdout.printf(Locale.ROOT, "done: %d trials (%d complete, %d pruned, %d failed), %d steps trained of %d for"
                        + " full trials%n", results.trials().size(), counts.getOrDefault(TrialState.COMPLETE, 0L),
                counts.getOrDefault(TrialState.PRUNED, 0L), counts.getOrDefault(TrialState.FAILED, 0L), trained,
                results.trials().size() * results.study().steps());
        results.best().ifPresentOrElse(
                b -> stdout.printf(Locale.ROOT, "best: trial %d, val loss %.4f: %s%n", b.number(), b.value(), describe(b.params())),
                () -> stdout.println("best: none (no trial completed)"));
        stdout.printf("results: %s, %s%n", out.resolve("trials.csv"), out.resolve("report.html"));
        stdout.flush();
    }
}
