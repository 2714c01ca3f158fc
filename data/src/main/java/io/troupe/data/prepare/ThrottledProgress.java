package io.troupe.data.prepare;

/** Passes progress to a listener at most every 100 ms, so a per-document call stays cheap. */
final class ThrottledProgress {

    private static final long INTERVAL_NANOS = 100_000_000L;

    private final PrepareListener listener;
    private final PrepareListener.Phase phase;
    private long last = System.nanoTime();

    ThrottledProgress(PrepareListener listener, PrepareListener.Phase phase) {
        this.listener = listener;
        this.phase = phase;
    }

    /** Reports if the interval has passed since the last report. */
    void maybeReport(long bytes, long documents) {
        long now = System.nanoTime();
        if (now - last >= INTERVAL_NANOS) {
            last = now;
            listener.onProgress(phase, bytes, documents);
        }
    }

    /** Reports now (the end of a phase). */
    void report(long bytes, long documents) {
        last = System.nanoTime();
        listener.onProgress(phase, bytes, documents);
    }
}
