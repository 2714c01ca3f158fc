package io.troupe.data.clean;

import io.troupe.data.report.Counter;

/** Drops documents longer than {@code maxChars} after cleaning. */
record MaxLengthFilter(long maxChars) implements DocumentFilter {

    @Override
    public boolean keep(TextStats stats) {
        return stats.chars() <= maxChars;
    }

    @Override
    public Counter counter() {
        return Counter.FILTER_TOO_LONG;
    }
}
