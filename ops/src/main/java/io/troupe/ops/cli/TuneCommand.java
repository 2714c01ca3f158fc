package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.ops.dashboard.StudyDashboard;
import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.run.StudyData;
import io.troupe.tuner.run.StudyHome;
import io.troupe.tuner.run.StudyListener;
import io.troupe.tuner.run.StudyLock;
import io.troupe.tuner.run.StudyReports;
import io.troupe.tuner.run.PbtRunner;
import io.troupe.tuner.run.StudyRunner;
import io.troupe.tuner.run.Studies;
import io.troupe.tuner.run.TrainingExecutor;
import io.troupe.tuner.run.TrialExecutor;
import io.troupe.data.labelled.LabelledData;
import io.troupe.data.labelled.LabelledReader;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.tuner.run.TrialAudit;
import io.troupe.ops.audit.TrialBiasAudit;
import io.troupe.tuner.sampler.Sampler;
import io.troupe.tuner.pruner.Pruner;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.worker.metrics.TroupeMetrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import io.troupe.tuner.analysis.ParetoFront;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe tune}: runs (or resumes) a hyperparameter study. */
@Command(name = "tune",
        description = {"Search hyperparameters with trials (training jobs) sampled from a search space.",
            "Trials run in parallel on disjoint groups of workers; the pruner stops poor ones early.",
            "Writes DIR/study.db (unless --storage), DIR/trials/<n>/, DIR/trials.csv and DIR/report.html."},
        mixinStandardHelpOptions = true)
final class TuneCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--space", paramLabel = "FILE", description = "Search space (HOCON), e.g. examples/tune-shakespeare-small.conf.")
    private Path space;



    @Option(names = "--trials", paramLabel = "N", description = "Trials in all (a grid stops at its size).")
    private Integer trials;

    @Option(names = "--sampler", paramLabel = "NAME", description = "grid, random or tpe (default: random).")
    private String sampler;

    @Option(names = "--pruner", paramLabel = "NAME", description = {"none, asha, hyperband or median: stops poor trials early;",
        "pbt: population-based training of all --trials at once (default: none)."})
    private String pruner;

    /** The old name of --pruner (it prunes trials, it schedules nothing); still accepted, not shown. */
    @Option(names = "--scheduler", hidden = true, paramLabel = "NAME")
    private void setScheduler(String name) {
        pruner = name;
    }

    @Option(names = "--workers", defaultValue = "1", paramLabel = "W", description = "Workers in all (default: 1).")
    private int workers;

    @Option(names = "--workers-per-trial", paramLabel = "K",
            description = "Workers of each trial (default: 1); W / K trials run at once. K > 1 trains data-parallel.")
    private Integer workersPerTrial;


    @Option(names = "--seed", paramLabel = "S", description = "Sampler seed (default: 0).")
    private Long seed;

    @Option(names = "--storage", paramLabel = "JDBC_URL",
            description = "Study store (default: jdbc:sqlite:DIR/study.db), e.g. jdbc:postgresql://host:5432/db?user=u.")
    private String storage;


    private boolean resume;

    @Option(names = "--force", description = {"Start the study in DIR over: its trials, values and results are removed",
        "(only DIR/trials, DIR/trials.csv, DIR/report.html and its entries in the store)."})
    private boolean force;

    @Option(names = "--external", description = "Run the trials on W 'troupe worker --join HOST:PORT' processes "
            + "(any hosts) instead of embedded workers; they may come and go.")
    private boolean external;

    private io.troupe.coordinator.ClusterNode.JobHost host;

    @Option(names = "--audit-pairs", paramLabel = "FILE",
            description = {"Bias-audit every COMPLETE trial's model on these sentence pairs (as 'troupe audit bias'):",
                "its pct_stereotype and 95%% CI become columns of trials.csv, report.html and 'study show'."})
    private Path auditPairs;

    @Option(names = "--audit-format", paramLabel = "crows|pairs", description = "Layout of --audit-pairs (default: crows).")
    private String auditFormat;

    @Option(names = "--objective", paramLabel = "A,B",
            description = {"Objectives of a multi-objective study, val_loss first: e.g. val_loss,tokens_per_second",
                "(or NAME:min|max; pct_stereotype with --audit-pairs). The Pareto front is kept in the store,",
                "shown in report.html and 'study show'; 'study best --pick' chooses from it.",
                "With --finetune-from: accuracy or macro_f1, what a trial maximises, reported as 1 - it",
                "(default: accuracy)."})
    private String objective;

    /** What a fine-tuning study's --objective may name; a pretraining study's trials report neither. */
    private static final Set<String> FINETUNE_OBJECTIVES = Set.of("accuracy", "macro_f1");

    @Option(names = "--retries", defaultValue = "0", paramLabel = "N",
            description = "Run a failed trial (diverged, out of memory, threw) again from scratch up to N times (default: 0).")
    private int retries;

    /** --train-alongside: a long training job sharing the external workers with the trials. */
    @Mixin
    private TrainAlongsideOptions alongside;

    /** With --external: --tls DIR or --insecure for the cluster workers join. */
    @Mixin
    private TlsOptions tls;

    /** --sign-key: sign and verify the trials' checkpoints. */
    @Mixin
    private SigningOptions signing;

    @Option(names = "--bind", defaultValue = "127.0.0.1:2552", paramLabel = "HOST:PORT",
            description = "With --external: the cluster address workers join (default: ${DEFAULT-VALUE}).")
    private String bind;

    @Option(names = "--finetune-from", paramLabel = "SOURCE",
            description = {"Tune fine-tuning instead of pretraining: every trial fine-tunes SOURCE (as finetune --from)",
                "as a classifier on the labelled --data and reports its validation error (1 - --objective);",
                "the space varies training keys such as learning_rate, lr_body_scale, lr_layer_decay, dropout."})
    private String finetuneFrom;

    @Option(names = "--lora-rank", paramLabel = "R",
            description = "With --finetune-from: every trial trains LoRA adapters of rank R (alpha 16, attn,proj).")
    private Integer loraRank;

    @Option(names = "--freeze", paramLabel = "embeddings|N",
            description = "With --finetune-from: every trial freezes the embeddings, or them and the first N blocks.")
    private String freeze;

    @Mixin
    private DataOption dataOption;

    @Mixin
    private RunDirOptions runDir;

    @Mixin
    private StepsOption stepsOption;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    @Mixin
    private MetricsOptions metrics;

    /** --dashboard: the study's trials, their states and curves, live. */
    @Mixin
    private DashboardOptions dashboard;

    private Path out;
    /** Whether this command recorded (or resumed) a study in the store; until then a failure removes what it created. */
    private boolean recorded;

    @Override
    @SuppressWarnings("try") // the lock is held by the try block, never read
    public Integer call() throws DataException, InterruptedException {
        if (!external && tls.given()) {
            throw UserError.usage("--tls and --insecure secure the cluster of --external; local trials run in this"
                    + " process (--sign-key signs their checkpoints)");
        }
        if (!external) {
            signing.install(null, false);
        }
        // --out DIR --resume, as train and coordinator spell it; --resume DIR is short for it.
        resume = runDir.resume();
        out = runDir.requireOut();
        Path dir = out.toAbsolutePath().normalize();
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw UserError.inputData("--out " + out + " is a file, not a directory; choose another path");
        }
        if (resume && force) {
            throw UserError.usage("--resume continues the study and --force starts it over; pass one of them");
        }
        if (resume && storage == null && !JdbcStudyStore.hasSqliteStore(dir)) {
            throw UserError.inputData("nothing to resume: " + dir + " has no " + JdbcStudyStore.SQLITE_FILE
                    + " (if the study used --storage, pass the same --storage again)");
        }
        // Read the pairs before anything else: a bad file is refused before any trial trains.
        if (auditPairs == null && auditFormat != null) {
            throw UserError.usage("--audit-format describes --audit-pairs FILE; pass both, or neither");
        }
        TrialAudit audit = auditPairs == null ? TrialAudit.NONE
                : TrialBiasAudit.load(auditPairs, AuditBiasCommand.format(auditFormat == null ? "crows" : auditFormat,
                        "--audit-format"), threads.threads());
        if (finetuneFrom != null && auditPairs != null) {
            throw UserError.usage("--audit-pairs audits language models; a fine-tuning study's trials are classifiers");
        }
        if (finetuneFrom == null) {
            if (objective != null && FINETUNE_OBJECTIVES.contains(objective.trim())) {
                throw UserError.usage("--objective " + objective.trim() + " applies to a fine-tuning study; pass"
                        + " --finetune-from SOURCE");
            }
            for (Object[] option : new Object[][]{{loraRank, "--lora-rank"},
                {freeze, "--freeze"}}) {
                if (option[0] != null) {
                    throw UserError.usage(option[1] + " applies to a fine-tuning study; pass --finetune-from SOURCE");
                }
            }
        }
        boolean withDashboard = dashboard.given(); // a stray --dashboard-token-file is refused before any work
        StudyProgress progress = new StudyProgress(spec.commandLine().getOut(), json.enabled());
        StudyHome home = new StudyHome(dir, storage);
        // A command refused before its study is recorded leaves nothing behind: not the store it
        // created to look for a study, nor the directory (so it cannot look like a study later).
        UnrecordedStudy created = UnrecordedStudy.before(dir);
        boolean locked = false;
        recorded = false;
        try {
            try (StudyLock lock = StudyLock.acquire(dir); StudyStore store = home.open()) {
                locked = true;
                Optional<StudyInfo> existing = home.find(store);
                if (!resume && !force && existing.isPresent()) {
                    throw UserError.inputData(dir + " already holds a study; pass --resume to continue it, --force to start it"
                            + " over, or choose another --out");
                }
                // With --force the old study is removed, but only once the new one's options are valid.
                Optional<StudyInfo> stored = force ? Optional.empty() : existing;
                if (resume && stored.isEmpty()) {
                    throw UserError.inputData("nothing to resume: the store " + store.describe() + " holds no study for " + dir
                            + " (a run that failed before its first trial records none); start it without --resume");
                }
                String name = stored.map(StudyInfo::name).orElse(home.newKey());
                StudyInfo requested = requested(name, stored.orElse(null));
                StudyData studyData = stored.isEmpty() ? StudyData.of(dir, dataOption.data())
                        : StudyData.resume(dir, stored.get().data(), stored.get().dataSha256(), dataOption.data());
                SearchSpace searchSpace = space != null ? SearchSpace.load(space) : SearchSpace.parse(stored.get().space());
                if (retries < 0) {
                    throw UserError.usage("--retries must be >= 0, got " + retries);
                }
                if (objective != null && finetuneFrom == null) {
                    // Checked before any trial trains: an objective the trials never report would leave no front.
                    List<String> reported = new java.util.ArrayList<>(List.of(ParetoFront.TOKENS_PER_SECOND));
                    if (auditPairs != null) {
                        reported.add(TrialBiasAudit.PCT_STEREOTYPE);
                    }
                    List<ParetoFront.Objective> objectives = ParetoFront.parseList(objective, reported);
                    searchSpace = searchSpace.withObjectives(objectives.stream().map(ParetoFront.Objective::toString).toList());
                }
                requested = new StudyInfo(name, searchSpace.canonical(), studyData.stored(), requested.sampler(),
                        requested.pruner(), requested.seed(), requested.trials(), requested.workersPerTrial(),
                        requested.steps(), requested.createdAt(), studyData.sha256());
                Sampler theSampler = Sampler.create(requested.sampler(), searchSpace, requested.seed());
                Pruner thePruner = Pruner.create(requested.pruner(), searchSpace, requested.steps());
                boolean pbt = requested.pruner().equals("pbt");
                if (pbt && (external || requested.workersPerTrial() != 1)) {
                    throw UserError.usage("population-based training runs --workers members at once, one local worker"
                            + " each; drop --workers-per-trial and --external");
                }
                // Built before the study is recorded: a population of 1 or bad pbt options are refused with nothing written.
                PbtRunner pbtRunner = pbt ? new PbtRunner(name, dir, searchSpace, theSampler, store, null,
                        requested.steps(), requested.trials(), requested.seed(), StudyListener.SILENT) : null;
                int k = requested.workersPerTrial();
                if (workers < k || workers % k != 0) {
                    throw UserError.usage("--workers " + workers + " must be a positive multiple of --workers-per-trial " + k);
                }
                int slots = workers / k;
                // Checked before the study is recorded: a bad training config is refused with nothing written.
                io.troupe.coordinator.JobSpec alongsideJob = alongside.check(external, studyData.path(), workers);
                // Bound before the study is recorded: a port in use is refused with nothing written.
                DashboardOptions.AutoCloseableServer page = withDashboard ? openDashboard(store, requested) : () -> { };
                try (page) {
                    if (external) {
                        host = startHost(progress);
                    }
                    TrialExecutor executor = finetuneFrom != null
                            ? finetuneTrials(studyData.path(), k, requested.seed())
                            : new TrainingExecutor(studyData.path(), k,
                            external ? threads.threads() : threads.perLocalWorker(workers), TroupeVersion.current(), host);
                    checkStudyKind(dir, stored.isPresent());
                    if (force && existing.isPresent()) {
                        home.clear(store, existing.get());
                        progress.note("--force: removed the old study's trials and results from " + dir);
                    }
                    StudyInfo study = Studies.begin(store, requested, searchSpace, resume);
                recorded = true;
                    progress.study(dir, study, slots, theSampler.size().isPresent() ? theSampler.size().getAsLong() : -1);
                    StudyListener onTrialEnd = new StudyListener() {
                        @Override
                        public void onTrialStart(int number, Map<String, Object> params, boolean restarted) {
                            TroupeMetrics.process().trialStarted();
                            progress.onTrialStart(number, params, restarted);
                        }

                        @Override
                        public void onTrialEnd(TrialRecord t) {
                            StudyReports.write(dir, store, study);
                            TroupeMetrics.process().trialEnded(t.state().name());
                            progress.onTrialEnd(t);
                        }
                    };
                    if (pbtRunner != null) {
                        PbtRunner members = new PbtRunner(name, dir, searchSpace, theSampler, store, executor, study.steps(),
                                study.trials(), study.seed(), onTrialEnd).withSlots(slots);
                        try (StopOnSignal stop = StopOnSignal.install(members::requestStop)) {
                            members.run();
                            StudyResults results = StudyReports.write(dir, store, study);
                            if (members.stopRequested()) {
                                progress.stopped(dir);
                                return TrainCommand.EXIT_STOPPED;
                            }
                            progress.done(results, dir);
                        }
                        return TroupeCli.EXIT_OK;
                    }
                    StudyRunner runner = new StudyRunner(name, dir, searchSpace, theSampler, thePruner, store, executor, slots,
                            study.steps(), onTrialEnd, audit).withRetries(retries);
                    // Ctrl-C (or SIGTERM): every running trial checkpoints its current step and stays RUNNING.
                    // Closed last: only then may the signal's hook let the JVM exit (the results and the message are out).
                    try (MetricsOptions.Running served = metrics.start(spec.commandLine().getErr());
                         StopOnSignal stop = StopOnSignal.install(runner::requestStop)) {
                        try {
                            java.util.concurrent.CompletableFuture<io.troupe.coordinator.JobOutcome> training =
                                    alongsideJob == null ? null
                                            : TrainAlongsideOptions.start(host, alongsideJob, runner::stopRequested);
                            runner.run(study.trials());
                            StudyResults results = StudyReports.write(dir, store, study);
                            if (training != null) {
                                // The study is done; the job goes on with every worker until its last step.
                                TrainAlongsideOptions.finish(training, alongsideJob.outDir(), spec.commandLine().getOut(),
                                        json.enabled());
                            }
                            if (runner.stopRequested()) {
                                progress.stopped(dir);
                                return TrainCommand.EXIT_STOPPED;
                            }
                            progress.done(results, dir);
                        } finally {
                            if (host != null) {
                                host.close(); // the workers see their coordinator leave and exit
                            }
                        }
                    }
                }
            }
        } finally {
            if (locked && !recorded) {
                created.removeCreated();
            }
        }
        return TroupeCli.EXIT_OK;
    }

    /**
     * The trials of a fine-tuning study: local classifier runs (one worker each) on a stratified
     * 90/10 split of the labelled data, seeded by the study's seed.
     */
    private TrialExecutor finetuneTrials(Path data, int workersPerTrial, long studySeed) throws DataException {
        if (workersPerTrial > 1 || external) {
            throw UserError.usage("--finetune-from trials train a classifier on this machine, one worker each;"
                    + " drop --workers-per-trial and --external");
        }
        FinetuneTrials.Objective goal = FinetuneTrials.Objective.parse(objective == null ? "accuracy" : objective);
        TrainingScope scope;
        LoraConfig lora = null;
        try {
            scope = TrainingScope.parse(freeze, "all");
            if (loraRank != null) {
                if (freeze != null) {
                    throw UserError.usage("--lora-rank trains only the adapters and the head already; drop --freeze");
                }
                lora = new LoraConfig(loraRank, 16, LoraConfig.parseTargets("attn,proj"), 0.05);
            }
        } catch (IllegalArgumentException e) {
            throw UserError.usage(e.getMessage(), e);
        }
        LabelledData labelled = LabelledReader.forTraining(0).read(data);
        SourceModel source = SourceModel.load(finetuneFrom);
        return new FinetuneTrials(source, labelled, 0.1, studySeed, Pooling.LAST, scope, lora, goal,
                threads.perLocalWorker(workers));
    }

    /** Marks a fine-tuning study's directory, so that resuming it asks for the same kind of trials. */
    static final String FINETUNE_MARKER = "finetune-study.json";

    /**
     * A study's trials are all of one kind: a study started with --finetune-from must be resumed
     * with it (and the same objective), one started without it without it. The kind is kept in
     * {@value #FINETUNE_MARKER} beside the study; a new (or --force) study writes or removes it.
     */
    private void checkStudyKind(Path dir, boolean resuming) {
        Path marker = dir.resolve(FINETUNE_MARKER);
        String goal = objective == null ? "accuracy" : objective;
        try {
            if (!resuming) {
                if (finetuneFrom == null) {
                    Files.deleteIfExists(marker);
                } else {
                    Files.createDirectories(dir);
                    io.troupe.data.io.AtomicFiles.writeString(marker, new com.fasterxml.jackson.databind.ObjectMapper()
                            .createObjectNode().put("objective", goal).put("source", finetuneFrom).toString() + "\n");
                }
                return;
            }
            if (!Files.exists(marker)) {
                if (finetuneFrom != null) {
                    throw UserError.usage("the study in " + dir + " tunes training, not fine-tuning; resume it without"
                            + " --finetune-from");
                }
                return;
            }
            var stored = new com.fasterxml.jackson.databind.ObjectMapper().readTree(marker.toFile());
            if (finetuneFrom == null) {
                throw UserError.usage("the study in " + dir + " tunes fine-tuning of " + stored.path("source").asText()
                        + "; resume it with --finetune-from " + stored.path("source").asText());
            }
            if (!stored.path("objective").asText().equals(goal)) {
                throw UserError.usage("the study in " + dir + " maximises " + stored.path("objective").asText()
                        + "; resume it with --objective " + stored.path("objective").asText());
            }
        } catch (java.io.IOException e) {
            throw UserError.inputData("cannot read or write " + marker + ": " + e.getMessage(), e);
        }
    }

    /** Serves the study's page (its trials, read from the store once a second while a page is open). */
    private DashboardOptions.AutoCloseableServer openDashboard(StudyStore store, StudyInfo study) {
        return dashboard.serve(spec.commandLine().getErr(),
                new StudyDashboard(store, study, java.time.Clock.systemUTC(), java.time.Duration.ofSeconds(1)));
    }

    /** Starts the coordinator node external workers join, and says how to start them. */
    private io.troupe.coordinator.ClusterNode.JobHost startHost(StudyProgress progress) {
        HostPort address = HostPort.parse(bind, "--bind");
        java.util.Optional<io.troupe.worker.tls.ClusterTls> identity =
                tls.load(io.troupe.worker.tls.ClusterTls.Role.COORDINATOR, address.host(), "--bind");
        signing.install(identity.map(io.troupe.worker.tls.ClusterTls::hmacKey).orElse(null), true);
        io.troupe.coordinator.ClusterNode.JobHost started =
                io.troupe.coordinator.ClusterNode.JobHost.start(address.host(), address.port(), identity);
        org.apache.pekko.actor.Address bound = started.address();
        progress.listening(bound.getHost().get(), (Integer) bound.getPort().get(), workers);
        return started;
    }

    /** The study's settings: the flags given, else (on resume) the stored ones, else the defaults. */
    private StudyInfo requested(String name, StudyInfo stored) {
        if (stored == null) {
            for (Object[] required : new Object[][]{{space, "--space FILE"}, {dataOption.data(), "--data PATH"},
                {trials, "--trials N"}, {stepsOption.steps(), "--steps N"}}) {
                if (required[0] == null) {
                    throw UserError.usage("a new study needs " + required[1] + " (or pass --resume to continue one)");
                }
            }
        }
        int n = trials != null ? trials : stored.trials();
        long max = stepsOption.steps() != null ? stepsOption.steps() : stored.steps();
        int k = workersPerTrial != null ? workersPerTrial : stored == null ? 1 : stored.workersPerTrial();
        if (n < 1 || max < 1 || k < 1) {
            throw UserError.usage("--trials, --steps and --workers-per-trial must be >= 1");
        }
        return new StudyInfo(name, null, null,
                sampler != null ? sampler : stored == null ? "random" : stored.sampler(),
                pruner != null ? pruner : stored == null ? "none" : stored.pruner(),
                seed != null ? seed : stored == null ? 0 : stored.seed(), n, k, max,
                stored == null ? System.currentTimeMillis() : stored.createdAt());
    }
}
