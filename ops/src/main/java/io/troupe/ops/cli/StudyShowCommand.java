package io.troupe.ops.cli;

import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.run.StudyHome;
import io.troupe.tuner.run.StudyReports;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.ops.audit.TrialBiasAudit;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe study show DIR}: the table of trials, best first, and the best configuration. */
@Command(name = "show",
        description = {"Print a study's trials, best first, and its best configuration.",
            "Also rewrites DIR/trials.csv and DIR/report.html from the store."},
        mixinStandardHelpOptions = true)
final class StudyShowCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private StudyLocation location;

    @Option(names = "--max-bias", paramLabel = "PCT",
            description = {"Also print the best COMPLETE trial whose pct_stereotype (from tune --audit-pairs) is at most PCT",
                "(0-100; 50 means no measured preference). Trials without an audit never qualify."})
    private Double maxBias;

    @picocli.CommandLine.Mixin
    private JsonOption json;

    @Override
    public Integer call() {
        Path dir = location.dir();
        String storage = location.storage();
        if (maxBias != null && !(maxBias >= 0 && maxBias <= 100)) {
            throw UserError.usage("--max-bias is a percentage from 0 to 100, got " + maxBias);
        }
        Path study = dir.toAbsolutePath().normalize();
        if (storage == null && !JdbcStudyStore.hasSqliteStore(study)) {
            throw UserError.inputData("no study in " + dir + ": it has no " + JdbcStudyStore.SQLITE_FILE
                    + " (if the study used --storage, pass the same --storage)");
        }
        StudyHome home = new StudyHome(study, storage);
        try (StudyStore store = home.open()) {
            StudyInfo info = StudyReports.study(store, home);
            StudyResults results = Files.isWritable(study) ? StudyReports.write(study, store, info)
                    : StudyReports.results(store, info, study);
            java.io.PrintWriter out = spec.commandLine().getOut();
            if (json.enabled()) {
                Json.printLine(out, asJson(results));
                return TroupeCli.EXIT_OK;
            }
            out.print(results.table());
            if (maxBias != null) {
                out.println(underThreshold(results, maxBias));
            }
            out.flush();
        }
        return TroupeCli.EXIT_OK;
    }

    /**
     * The study as one JSON object: its settings, {@code best_trial}, {@code best_value},
     * {@code total_steps} (steps trained over all trials) and every trial with its reports.
     */
    static Map<String, Object> asJson(StudyResults results) {
        Map<String, Object> o = new LinkedHashMap<>();
        StudyInfo s = results.study();
        o.put("study", s.name());
        o.put("sampler", s.sampler());
        o.put("pruner", s.pruner());
        o.put("seed", s.seed());
        o.put("steps_per_trial", s.steps());
        o.put("trials_planned", s.trials());
        Optional<TrialRecord> best = results.best();
        o.put("best_trial", best.map(TrialRecord::number).orElse(null));
        o.put("best_value", best.map(TrialRecord::value).orElse(null));
        o.put("best_params", best.map(TrialRecord::params).orElse(null));
        o.put("total_steps", results.trials().stream().mapToLong(t -> Math.max(0, t.lastStep())).sum());
        List<Map<String, Object>> trials = new ArrayList<>();
        for (TrialRecord t : results.trials()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("number", t.number());
            j.put("state", t.state().name());
            j.put("value", Double.isFinite(t.value()) ? t.value() : null);
            j.put("last_step", t.lastStep());
            j.put("params", t.params());
            Map<String, Double> metrics = new LinkedHashMap<>();
            t.metrics().forEach((k, v) -> metrics.put(k, Double.isFinite(v) ? v : null));
            j.put("metrics", metrics);
            j.put("reason", t.reason());
            j.put("started_at", t.startedAt());
            j.put("finished_at", t.finishedAt() == 0 ? null : t.finishedAt());
            Map<String, Double> values = new LinkedHashMap<>();
            t.intermediate().forEach((k, v) -> values.put(String.valueOf(k), Double.isFinite(v) ? v : null));
            j.put("values", values);
            trials.add(j);
        }
        o.put("trials", trials);
        return o;
    }

    /** The line naming the best trial with pct_stereotype at most {@code max}, or why there is none. */
    static String underThreshold(StudyResults results, double max) {
        String metric = TrialBiasAudit.PCT_STEREOTYPE;
        Optional<TrialRecord> best = results.bestWith(metric, max);
        if (best.isPresent()) {
            TrialRecord t = best.get();
            return String.format(Locale.ROOT, "best with %s <= %.2f: trial %d, val loss %.4f, %s %.2f (95%% CI %.2f-%.2f)",
                    metric, max, t.number(), t.value(), metric, t.metric(metric), t.metric(TrialBiasAudit.CI_LOW),
                    t.metric(TrialBiasAudit.CI_HIGH));
        }
        List<TrialRecord> audited = results.trials().stream()
                .filter(t -> t.state() == TrialState.COMPLETE && !Double.isNaN(t.metric(metric))).toList();
        if (audited.isEmpty()) {
            return String.format(Locale.ROOT, "best with %s <= %.2f: none; no complete trial was audited (run troupe tune"
                    + " with --audit-pairs FILE)", metric, max);
        }
        double lowest = audited.stream().mapToDouble(t -> t.metric(metric)).min().orElseThrow();
        return String.format(Locale.ROOT, "best with %s <= %.2f: none; the lowest of %d audited complete trial(s) is %.2f",
                metric, max, audited.size(), lowest);
    }
}
