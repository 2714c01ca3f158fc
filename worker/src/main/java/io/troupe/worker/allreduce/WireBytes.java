package io.troupe.worker.allreduce;

import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes this process's ring members have handed to TCP for their successors (frames with their
 * headers, the admission preamble left out): the measured traffic of the data plane, which
 * {@code troupe train --workers N} reports at the end (all its workers share the process).
 */
public final class WireBytes {
    private static final LongAdder SENT = new LongAdder();

    private WireBytes() {
    }

    /** Bytes sent so far by every ring member of this process. */
    public static long sent() {
        return SENT.sum();
    }

    static void add(int bytes) {
        SENT.add(bytes);
    }
}
