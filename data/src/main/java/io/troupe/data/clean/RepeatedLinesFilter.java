package io.troupe.data.clean;

import io.troupe.data.report.Counter;

/**
 * Drops documents in which more than {@code maxFraction} of the non-blank lines repeat an
 * earlier line: navigation menus, boilerplate footers, spam (Gopher's duplicate-line rule).
 */
record RepeatedLinesFilter(double maxFraction) implements DocumentFilter {

    @Override
    public boolean keep(TextStats stats) {
        return stats.duplicateLineFraction() <= maxFraction;
    }

    @Override
    public Counter counter() {
        return Counter.FILTER_REPEATED_LINES;
    }
}
