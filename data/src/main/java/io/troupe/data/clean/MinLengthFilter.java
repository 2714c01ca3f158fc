package io.troupe.data.clean;

import io.troupe.data.report.Counter;

/** Drops documents shorter than {@code minChars} after cleaning (empty ones included). */
record MinLengthFilter(int minChars) implements DocumentFilter {

    @Override
    public boolean keep(TextStats stats) {
        return stats.chars() >= Math.max(1, minChars);
    }

    @Override
    public Counter counter() {
        return Counter.FILTER_TOO_SHORT;
    }
}
