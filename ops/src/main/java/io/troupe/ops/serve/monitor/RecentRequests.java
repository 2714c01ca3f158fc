package io.troupe.ops.serve.monitor;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The last answered requests by response id, with their inputs and predictions, so that
 * feedback naming an id can be stored with the text it is about (and so be trained on). Bounded
 * twice: at most {@code capacity} requests and {@code maxChars} characters of inputs and
 * predictions (a request may carry a megabyte of text), the oldest forgotten first. Feedback for
 * a forgotten or never-seen id is still stored, flagged unknown. Thread-safe.
 */
final class RecentRequests {
    /** Characters kept by default: 32 Mi, at most 64 MiB of heap. */
    static final long DEFAULT_MAX_CHARS = 32L << 20;

    /**
     * One answered request.
     *
     * @param generation which model load answered it (live accuracy counts only the current one's)
     * @param inputs the texts sent, one per input
     * @param predictions one per input: a classifier's label; null when not kept (completions)
     */
    record Answered(String model, long generation, String endpoint, List<String> inputs, List<String> predictions) {
        long chars() {
            long n = 0;
            for (String s : inputs) {
                n += s.length();
            }
            if (predictions != null) {
                for (String s : predictions) {
                    n += s == null ? 0 : s.length();
                }
            }
            return n;
        }
    }

    private final int capacity;
    private final long maxChars;
    private final LinkedHashMap<String, Answered> byId = new LinkedHashMap<>();
    private long chars;

    RecentRequests(int capacity, long maxChars) {
        this.capacity = capacity;
        this.maxChars = maxChars;
    }

    synchronized void remember(String id, Answered answered) {
        Answered replaced = byId.put(id, answered);
        if (replaced != null) {
            chars -= replaced.chars();
        }
        chars += answered.chars();
        Iterator<Map.Entry<String, Answered>> oldest = byId.entrySet().iterator();
        while ((byId.size() > capacity || chars > maxChars) && oldest.hasNext()) {
            chars -= oldest.next().getValue().chars();
            oldest.remove();
        }
    }

    /** The request answered as {@code id}, or null when it was never seen or is forgotten. */
    synchronized Answered find(String id) {
        return byId.get(id);
    }

    /** Requests remembered now. */
    synchronized int size() {
        return byId.size();
    }
}
