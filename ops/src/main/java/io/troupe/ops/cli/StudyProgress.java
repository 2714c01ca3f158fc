package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.run.StudyListener;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * What {@code troupe tune} prints: sentences, or with {@code --json} one object per line, each
 * with an {@code event} field:
 *
 * <ul>
 *   <li>{@code listening} (with --external): {@code host}, {@code port}, {@code workers};</li>
 *   <li>{@code study}: {@code dir}, {@code trials}, {@code parallel} (trials at a time),
 *       {@code workers_per_trial}, {@code sampler}, {@code pruner}, {@code steps};</li>
 *   <li>{@code trial_start}: {@code trial}, {@code params}, {@code restarted} (from its checkpoint);</li>
 *   <li>{@code trial_end}: {@code trial}, {@code state} (COMPLETE, PRUNED or FAILED), {@code step},
 *       {@code val_loss} (null without one), {@code reason} (null, or why it was pruned or failed);</li>
 *   <li>last, {@code done}: {@code trials}, {@code complete}, {@code pruned}, {@code failed},
 *       {@code steps_trained}, {@code best} (null, or {@code trial}, {@code val_loss}, {@code params}),
 *       {@code trials_csv}, {@code report_html}; or {@code stopped}: {@code dir}.</li>
 * </ul>
 */
final class StudyProgress implements StudyListener {
    private final PrintWriter out;
    private final boolean json;
    private final boolean terminal;
    private final java.util.function.LongSupplier nanos;
    /** Trials that reached a final state (a trial ASHA only paused may still run again). */
    private final java.util.Set<Integer> ended = new java.util.HashSet<>();
    private int total;
    private long startedNanos;
    private ProgressBar bar;

    StudyProgress(PrintWriter out, boolean json) {
        this(out, json, System.console() != null, System::nanoTime);
    }

    /**
     * @param terminal a progress bar over the trials (with ETA) instead of a progress line after each trial end
     * @param nanos the clock the ETA is measured with
     */
    StudyProgress(PrintWriter out, boolean json, boolean terminal, java.util.function.LongSupplier nanos) {
        this.out = out;
        this.json = json;
        this.terminal = terminal;
        this.nanos = nanos;
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Listening(String event, String host, int port, int workers) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Study(String event, String dir, int trials, int parallel, int workersPerTrial, String sampler,
                 String pruner, long steps) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record TrialStart(String event, int trial, Map<String, Object> params, boolean restarted) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record TrialEnd(String event, int trial, String state, long step, Double valLoss, String reason) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Best(int trial, double valLoss, Map<String, Object> params) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Done(String event, int trials, long complete, long pruned, long failed, long stepsTrained, Best best,
                String trialsCsv, String reportHtml) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Stopped(String event, String dir) {
    }

    /** Where external workers join. */
    synchronized void listening(String host, int port, int workers) {
        if (json) {
            Json.printLine(out, new Listening("listening", host, port, workers));
            return;
        }
        out.printf("study coordinator listens on %s:%s; start %d worker(s) with:%n  troupe worker --join %s:%s%n",
                host, port, workers, host, port);
        out.flush();
    }

    /** The study about to run; {@code gridSize} is the grid's point count, or -1. */
    synchronized void study(Path dir, StudyInfo study, int slots, long gridSize) {
        int trials = gridSize >= 0 && gridSize < study.trials() ? (int) gridSize : study.trials();
        if (json) {
            Json.printLine(out, new Study("study", dir.toString(), trials, slots, study.workersPerTrial(),
                    study.sampler(), study.pruner(), study.steps()));
            return;
        }
        if (trials < study.trials()) {
            out.printf("the grid has %d points; running %d trials, not %d%n", gridSize, gridSize, study.trials());
        }
        out.printf("study %s: %d trials, %d at a time on %d worker(s) each, sampler %s, pruner %s, %d steps%n",
                dir, study.trials(), slots, study.workersPerTrial(), study.sampler(), study.pruner(), study.steps());
        out.flush();
        total = trials;
        startedNanos = nanos.getAsLong();
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName("tune").setInitialMax(trials).setUnit(" trials", 1)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(500).build();
        }
    }

    /** Prints a line above the bar (when there is one), so the trials' history stays on screen. */
    private void line(String text) {
        if (bar != null) {
            bar.pause();
            System.err.print("\r\033[K");
        }
        out.println(text);
        out.flush();
        if (bar != null) {
            bar.resume();
        }
    }

    @Override
    public synchronized void onTrialStart(int number, Map<String, Object> params, boolean restarted) {
        if (json) {
            Json.printLine(out, new TrialStart("trial_start", number, params, restarted));
            return;
        }
        line(String.format("trial %d %s: %s", number, restarted ? "restarted from its checkpoint" : "started",
                describe(params)));
    }

    @Override
    public synchronized void onTrialEnd(TrialRecord t) {
        boolean scored = !Double.isNaN(t.value());
        if (json) {
            Json.printLine(out, new TrialEnd("trial_end", t.number(), t.state().name(), t.lastStep(),
                    scored ? t.value() : null, t.reason()));
            return;
        }
        line(String.format(Locale.ROOT, "trial %d %s at step %d: val loss %s%s", t.number(), t.state(), t.lastStep(),
                scored ? String.format(Locale.ROOT, "%.4f", t.value()) : "-",
                t.reason() == null ? "" : " (" + t.reason() + ")"));
        boolean paused = t.state() == TrialState.PRUNED && t.reason() != null
                && t.reason().startsWith(io.troupe.tuner.pruner.AshaPruner.PAUSED);
        if (paused || !ended.add(t.number()) || total == 0) {
            return;
        }
        if (bar != null) {
            bar.stepTo(ended.size());
        } else {
            out.println(progressLine());
            out.flush();
        }
    }

    /**
     * "progress: 3 of 8 trials ended, 2m10s elapsed, about 3m37s left": the time left assumes the
     * remaining trials take as long on average as the ended ones (pruned ones end early, so it is rough).
     */
    String progressLine() {
        long elapsed = nanos.getAsLong() - startedNanos;
        int done = ended.size();
        String left = done >= total ? "" : ", about " + duration(elapsed / done * (total - done)) + " left";
        return "progress: " + done + " of " + total + " trials ended, " + duration(elapsed) + " elapsed" + left;
    }

    private static String duration(long nanos) {
        long s = Math.round(nanos / 1e9);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }

    /** Ends the progress bar, if any. */
    synchronized void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    /** A line of information for people (not printed with --json, whose lines are events). */
    synchronized void note(String text) {
        if (!json) {
            line(text);
        }
    }

    /** A study stopped by a signal; its running trials saved a checkpoint. */
    synchronized void stopped(Path dir) {
        close();
        if (json) {
            Json.printLine(out, new Stopped("stopped", dir.toString()));
            return;
        }
        out.printf("stopped; running trials saved a checkpoint; continue with troupe tune --out %s --resume%n", dir);
        out.flush();
    }

    /** The end of a study: counts, the best trial and where the results are. */
    synchronized void done(StudyResults results, Path dir) {
        close();
        Map<TrialState, Long> counts = results.trials().stream()
                .collect(Collectors.groupingBy(TrialRecord::state, Collectors.counting()));
        long trained = results.trials().stream().mapToLong(t -> Math.max(0, t.lastStep())).sum();
        long complete = counts.getOrDefault(TrialState.COMPLETE, 0L);
        long pruned = counts.getOrDefault(TrialState.PRUNED, 0L);
        long failed = counts.getOrDefault(TrialState.FAILED, 0L);
        Path csv = dir.resolve(io.troupe.tuner.report.ResultsWriter.CSV);
        Path html = dir.resolve(io.troupe.tuner.report.ResultsWriter.HTML);
        if (json) {
            Best best = results.best().map(b -> new Best(b.number(), b.value(), b.params())).orElse(null);
            Json.printLine(out, new Done("done", results.trials().size(), complete, pruned, failed, trained, best,
                    csv.toString(), html.toString()));
            return;
        }
        out.printf(Locale.ROOT, "done: %d trials (%d complete, %d pruned, %d failed), %d steps trained of %d for"
                + " full trials%n", results.trials().size(), complete, pruned, failed, trained,
                results.trials().size() * results.study().steps());
        results.best().ifPresentOrElse(
                b -> out.printf(Locale.ROOT, "best: trial %d, val loss %.4f: %s%n", b.number(), b.value(), describe(b.params())),
                () -> out.println("best: none (no trial completed)"));
        if (failed > 0) {
            out.printf("failed trials run again with: troupe tune --out %s --resume (after fixing their cause above);"
                    + " to start over with other settings: troupe tune --out %s --force ...%n", dir, dir);
        }
        out.printf("results: %s, %s%n", csv, html);
        out.flush();
    }

    private static String describe(Map<String, Object> params) {
        return params.entrySet().stream().map(e -> e.getKey() + "=" + StudyResults.format(e.getValue()))
                .collect(Collectors.joining(" "));
    }
}
