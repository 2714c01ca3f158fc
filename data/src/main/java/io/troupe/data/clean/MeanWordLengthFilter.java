package io.troupe.data.clean;

import io.troupe.data.report.Counter;

/**
 * Drops documents whose mean word length lies outside {@code [min, max]} (Gopher: 3 to 10):
 * below, lists of symbols and fragments; above, URLs, hashes and words glued together.
 * A bound of 0 is off.
 */
record MeanWordLengthFilter(double min, double max) implements DocumentFilter {

    @Override
    public boolean keep(TextStats stats) {
        double mean = stats.meanWordLength();
        return (min <= 0 || mean >= min) && (max <= 0 || mean <= max);
    }

    @Override
    public Counter counter() {
        return Counter.FILTER_WORD_LENGTH;
    }
}
