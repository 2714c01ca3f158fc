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
 */
public record TrialRecord(int number, TrialState state, Map<String, Object> params, double value, String reason,
                          long startedAt, long finishedAt, NavigableMap<Long, Double> intermediate) {

    /** The last step it reported at, or -1. */
    public long lastStep() {
        return intermediate.isEmpty() ? -1 : intermediate.lastKey();
    }
}
