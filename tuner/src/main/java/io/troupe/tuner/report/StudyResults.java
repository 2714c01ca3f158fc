package io.troupe.tuner.report;

import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A study's trials as a user reads them: sorted best first, as a text table, as CSV, and the
 * best configuration. Secondary metrics (a bias audit's {@code pct_stereotype}) are extra
 * columns after the parameters; they never change the order.
 *
 * <p>Order: COMPLETE trials by value, then PRUNED ones (those that ran further first, then by
 * value: a trial stopped at a later rung got further than one stopped early, whatever its loss
 * there), then RUNNING, then FAILED; ties by trial number.
 */
public record StudyResults(StudyInfo study, List<TrialRecord> trials, List<Long> rungs,
                           List<io.troupe.tuner.store.LineageEvent> lineage) {

    public StudyResults {
        trials = trials.stream().sorted(ORDER).toList();
        rungs = List.copyOf(rungs);
        lineage = List.copyOf(lineage);
    }

    /** Results of a study without population-based training. */
    public StudyResults(StudyInfo study, List<TrialRecord> trials, List<Long> rungs) {
        this(study, trials, rungs, List.of());
    }

    private static final Comparator<TrialRecord> ORDER = Comparator
            .comparingInt((TrialRecord t) -> rank(t.state()))
            .thenComparing(t -> t.state() == TrialState.PRUNED ? -t.lastStep() : 0L)
            .thenComparingDouble(t -> Double.isNaN(t.value()) ? Double.POSITIVE_INFINITY : t.value())
            .thenComparingInt(TrialRecord::number);

    private static int rank(TrialState state) {
        return switch (state) {
            case COMPLETE -> 0;
            case PRUNED -> 1;
            case RUNNING -> 2;
            case FAILED -> 3;
        };
    }

    /** The best COMPLETE trial, if any. */
    public Optional<TrialRecord> best() {
        return trials.stream().filter(t -> t.state() == TrialState.COMPLETE && Double.isFinite(t.value())).findFirst();
    }

    /**
     * The best COMPLETE trial among those whose secondary metric {@code metric} is at most
     * {@code max} (e.g. the lowest loss with pct_stereotype &le; 55). Trials without the metric
     * never qualify: an unmeasured model is not known to be under the threshold.
     */
    public Optional<TrialRecord> bestWith(String metric, double max) {
        return trials.stream()
                .filter(t -> t.state() == TrialState.COMPLETE && Double.isFinite(t.value()))
                .filter(t -> t.metric(metric) <= max) // NaN (no metric) compares false
                .findFirst();
    }

    /** Every secondary metric name any trial has, sorted. */
    public List<String> metricNames() {
        Set<String> names = new java.util.TreeSet<>();
        trials.forEach(t -> names.addAll(t.metrics().keySet()));
        return new ArrayList<>(names);
    }

    /** Every parameter key, in the order trials list them. */
    public List<String> parameterKeys() {
        Set<String> keys = new LinkedHashSet<>();
        trials.stream().sorted(Comparator.comparingInt(TrialRecord::number)).forEach(t -> keys.addAll(t.params().keySet()));
        return new ArrayList<>(keys);
    }

    /** A value as the table and CSV print it: doubles with 4 significant digits, the rest as they are. */
    public static String format(Object value) {
        if (value instanceof Double d) {
            return String.format(Locale.ROOT, "%.4g", d);
        }
        return String.valueOf(value);
    }

    /** The recorded objective, or for a trial still running its best report so far (step 0 aside). */
    public static double shownValue(TrialRecord t) {
        if (!Double.isNaN(t.value()) || t.state() != TrialState.RUNNING) {
            return t.value();
        }
        return t.intermediate().tailMap(1L).values().stream().mapToDouble(Double::doubleValue)
                .filter(Double::isFinite).min().orElse(Double.NaN);
    }

    private static String loss(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    /** trials.csv: one row per trial in table order, with its parameters, reason and timestamps (ISO-8601 UTC). */
    public String csv() {
        List<String> keys = parameterKeys();
        List<String> metrics = metricNames();
        StringBuilder out = new StringBuilder("number,state,value,last_step");
        keys.forEach(k -> out.append(',').append(csvField(k)));
        metrics.forEach(m -> out.append(',').append(csvField(m)));
        out.append(",reason,started_at,finished_at\n");
        for (TrialRecord t : trials) {
            out.append(t.number()).append(',').append(t.state()).append(',')
                    .append(Double.isNaN(shownValue(t)) ? "" : String.valueOf(shownValue(t))).append(',')
                    .append(t.lastStep() < 0 ? "" : String.valueOf(t.lastStep()));
            for (String k : keys) {
                Object v = t.params().get(k);
                out.append(',').append(v == null ? "" : csvField(String.valueOf(v)));
            }
            for (String m : metrics) {
                double v = t.metric(m);
                out.append(',').append(Double.isNaN(v) ? "" : String.valueOf(v));
            }
            out.append(',').append(csvField(t.reason() == null ? "" : t.reason()))
                    .append(',').append(Instant.ofEpochMilli(t.startedAt()))
                    .append(',').append(t.finishedAt() == 0 ? "" : Instant.ofEpochMilli(t.finishedAt()).toString())
                    .append('\n');
        }
        return out.toString();
    }

    private static String csvField(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }

    /** The aligned text table {@code troupe study show} prints, then the best configuration. */
    public String table() {
        List<String> keys = parameterKeys();
        List<List<String>> rows = new ArrayList<>();
        List<String> metrics = metricNames();
        List<String> header = new ArrayList<>(List.of("trial", "state", "val_loss", "steps"));
        header.addAll(keys);
        header.addAll(metrics);
        header.add("reason");
        rows.add(header);
        for (TrialRecord t : trials) {
            List<String> row = new ArrayList<>(List.of(String.valueOf(t.number()), t.state().name(), loss(shownValue(t)),
                    t.lastStep() < 0 ? "-" : String.valueOf(t.lastStep())));
            for (String k : keys) {
                Object v = t.params().get(k);
                row.add(v == null ? "-" : format(v));
            }
            for (String m : metrics) {
                double v = t.metric(m);
                row.add(Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v));
            }
            row.add(t.reason() == null ? "" : t.reason());
            rows.add(row);
        }
        int[] width = new int[header.size()];
        for (List<String> row : rows) {
            for (int i = 0; i < row.size(); i++) {
                width[i] = Math.max(width[i], row.get(i).length());
            }
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "study %s: %d of %d trials, sampler %s, pruner %s, %d steps%n",
                study.name(), trials.size(), study.trials(), study.sampler(), study.pruner(), study.steps()));
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                // The last column (the reason) is free text: no padding after it.
                line.append(i == row.size() - 1 ? row.get(i) : pad(row.get(i), width[i])).append(i == row.size() - 1 ? "" : "  ");
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        Optional<TrialRecord> best = best();
        if (best.isPresent()) {
            out.append(String.format(Locale.ROOT, "best: trial %d, val loss %.4f%n", best.get().number(), best.get().value()));
            for (Map.Entry<String, Object> e : best.get().params().entrySet()) {
                out.append("  ").append(e.getKey()).append(" = ").append(e.getValue()).append('\n');
            }
        } else {
            out.append("best: none yet (no trial has completed)\n");
        }
        return out.toString();
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length());
    }
}
