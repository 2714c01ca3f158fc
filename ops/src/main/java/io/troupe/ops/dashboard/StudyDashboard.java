package io.troupe.ops.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.tuner.pruner.AshaPruner;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The dashboard feed of a study ({@code tune --dashboard}): each trial's state (running,
 * complete, pruned, paused by ASHA, failed), value, parameters and its curve of reported val
 * losses. It reads the study's store, which every trial already reports to (also the trials of
 * external workers and of a resumed study), at most once per {@code refresh} however many pages
 * are open, and only while one is: with no page open it costs nothing. SQLite stores run in WAL
 * mode, so these reads never hold up a trial's writes.
 *
 * <p>Deltas as for a run: a stream's first message holds every trial and curve, the next ones
 * the rows that changed and the curve points added (a curve whose trial was run again from
 * scratch is sent whole, with {@code "reset": true}).
 */
public final class StudyDashboard implements DashboardFeed<StudyDashboard.Cursor> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final StudyStore store;
    private final StudyInfo study;
    private final Clock clock;
    private final Duration refresh;
    private List<TrialRecord> trials = List.of();
    private long readAt = Long.MIN_VALUE;
    private String error;

    public StudyDashboard(StudyStore store, StudyInfo study, Clock clock, Duration refresh) {
        this.store = store;
        this.study = study;
        this.clock = clock;
        this.refresh = refresh;
    }

    /** What one stream's client has: each trial's row as last sent and how many curve points. */
    public static final class Cursor {
        private boolean started;
        private final Map<Integer, String> rows = new HashMap<>();
        private final Map<Integer, Integer> points = new HashMap<>();
    }

    @Override
    public Cursor cursor() {
        return new Cursor();
    }

    @Override
    public synchronized String next(Cursor cursor) {
        refresh();
        boolean full = !cursor.started;
        cursor.started = true;
        ObjectNode root = JSON.createObjectNode();
        root.put("kind", "study").put("full", full).put("time", clock.instant().toString());
        root.putObject("study").put("name", study.name()).put("trials", study.trials()).put("steps", study.steps())
                .put("sampler", study.sampler()).put("pruner", study.pruner());
        if (error != null) {
            root.put("error", error);
        }
        Map<String, Integer> counts = new TreeMap<>();
        for (String s : List.of("running", "complete", "pruned", "paused", "failed")) {
            counts.put(s, 0);
        }
        ArrayNode rows = root.putArray("trials");
        ObjectNode curves = root.putObject("curves");
        for (TrialRecord t : trials) {
            String state = state(t);
            counts.merge(state, 1, Integer::sum);
            String row = row(t, state).toString();
            if (full || !row.equals(cursor.rows.get(t.number()))) {
                rows.add(row(t, state));
                cursor.rows.put(t.number(), row);
            }
            int had = cursor.points.getOrDefault(t.number(), 0);
            boolean reset = !full && t.intermediate().size() < had; // its values were cleared: run again
            int from = full || reset ? 0 : had;
            if (full || reset || t.intermediate().size() > had) {
                ObjectNode curve = curves.putObject(String.valueOf(t.number()));
                if (reset) {
                    curve.put("reset", true);
                }
                ArrayNode pts = curve.putArray("points");
                t.intermediate().entrySet().stream().skip(from)
                        .forEach(e -> pts.addArray().add(e.getKey()).add(finite(e.getValue())));
            }
            cursor.points.put(t.number(), t.intermediate().size());
        }
        ObjectNode c = root.putObject("counts");
        counts.forEach(c::put);
        return root.toString();
    }

    /** The state shown: a PRUNED trial that ASHA only paused (it may be promoted again) is "paused". */
    static String state(TrialRecord t) {
        if (t.state() == TrialState.PRUNED && t.reason() != null && t.reason().startsWith(AshaPruner.PAUSED)) {
            return "paused";
        }
        return t.state().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static ObjectNode row(TrialRecord t, String state) {
        ObjectNode row = JSON.createObjectNode().put("number", t.number()).put("state", state)
                .put("lastStep", t.lastStep());
        if (t.state() != TrialState.RUNNING && Double.isFinite(t.value())) {
            row.put("value", t.value());
        }
        if (t.reason() != null) {
            row.put("reason", t.reason());
        }
        ObjectNode params = row.putObject("params");
        new TreeMap<>(t.params()).forEach((k, v) -> params.put(k, String.valueOf(v)));
        return row;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** Re-reads the trials when the last read is older than {@code refresh}; a failed read keeps the last ones. */
    private void refresh() {
        long now = clock.millis();
        if (readAt != Long.MIN_VALUE && now - readAt < refresh.toMillis()) {
            return;
        }
        readAt = now;
        try {
            trials = store.trials(study.name());
            error = null;
        } catch (RuntimeException e) {
            // The store is the study's; a failed read only delays the page (and says why on it).
            error = "cannot read the study's store: " + e.getMessage();
        }
    }
}
