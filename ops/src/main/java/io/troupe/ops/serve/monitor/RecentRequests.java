package io.troupe.ops.serve.monitor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The last {@code capacity} answered requests by response id, with their inputs and
 * predictions, so that feedback naming an id can be stored with the text it is about (and so
 * be trained on). The oldest is forgotten first; feedback for a forgotten or never-seen id is
 * still stored, flagged unknown. Thread-safe.
 */
final class RecentRequests {
    /**
     * One answered request.
     *
     * @param generation which model load answered it (live accuracy counts only the current one's)
     * @param inputs the texts sent, one per input
     * @param predictions one per input: a classifier's label, a completion's text; null when not kept (a stream)
     */
    record Answered(String model, long generation, String endpoint, List<String> inputs, List<String> predictions) {
    }

    private final Map<String, Answered> byId;

    RecentRequests(int capacity) {
        byId = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Answered> eldest) {
                return size() > capacity;
            }
        };
    }

    synchronized void remember(String id, Answered answered) {
        byId.put(id, answered);
    }

    /** The request answered as {@code id}, or null when it was never seen or is forgotten. */
    synchronized Answered find(String id) {
        return byId.get(id);
    }
}
