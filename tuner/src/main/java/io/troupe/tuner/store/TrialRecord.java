package io.troupe.tuner.store;

import java.util.Map;
import java.util.NavigableMap;

/**
 * One trial as stored.
 *
 * @param number 0, 1, 2, ... in the order trials were started
 * @param params its values by training key
 * @param value its objective (best val loss reported), or NaN if it reported none
 * @param reason why it was pruned or failed; null otherwise
 * @param startedAt epoch milliseconds
 * @param finishedAt epoch milliseconds, or 0 while running
 * @param intermediate its val loss at each evaluation step
 * @param metrics its secondary metrics by name (e.g. {@code pct_stereotype}); empty if none were recorded
 */
public record TrialRecord(int number, TrialState state, Map<String, Object> params, double value, String reason,
                          long startedAt, long finishedAt, NavigableMap<Long, Double> intermediate,
                          Map<String, Double> metrics) {

    public TrialRecord {
        metrics = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(metrics));
    }

    /** A trial without secondary metrics. */
    public TrialRecord(int number, TrialState state, Map<String, Object> params, double value, String reason,
                       long startedAt, long finishedAt, NavigableMap<Long, Double> intermediate) {
        this(number, state, params, value, reason, startedAt, finishedAt, intermediate, Map.of());
    }

    /** The named secondary metric, or NaN if the trial has none. */
    public double metric(String name) {
        Double v = metrics.get(name);
        return v == null ? Double.NaN : v;
    }

    /** The last step it reported at, or -1. */
    public long lastStep() {
        return intermediate.isEmpty() ? -1 : intermediate.lastKey();
    }
}
