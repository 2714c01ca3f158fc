package io.troupe.data.report;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counts of one prepare run. Thread-safe and cheap to bump from every worker thread
 * (LongAdder stripes contended counters).
 */
public final class Counters {

    private final EnumMap<Counter, LongAdder> counts = new EnumMap<>(Counter.class);

    /** All counters at zero. */
    public Counters() {
        for (Counter c : Counter.values()) {
            counts.put(c, new LongAdder());
        }
    }

    /** Adds one. */
    public void increment(Counter counter) {
        counts.get(counter).increment();
    }

    /** Adds {@code n}. */
    public void add(Counter counter, long n) {
        counts.get(counter).add(n);
    }

    /** The current count. */
    public long get(Counter counter) {
        return counts.get(counter).sum();
    }

    /** A copy of every count. */
    public Map<Counter, Long> snapshot() {
        EnumMap<Counter, Long> copy = new EnumMap<>(Counter.class);
        counts.forEach((c, n) -> copy.put(c, n.sum()));
        return copy;
    }
}
