package io.troupe.data.clean;

import io.troupe.data.report.Counter;

/**
 * Drops documents where letters are fewer than {@code minFraction} of the non-space characters:
 * tables of numbers, markup, encoded data. (Gopher's rule asks 80% of words to hold a letter;
 * counting characters needs no word model and catches the same junk.)
 */
record AlphaFractionFilter(double minFraction) implements DocumentFilter {

    @Override
    public boolean keep(TextStats stats) {
        return stats.alphaFraction() >= minFraction;
    }

    @Override
    public Counter counter() {
        return Counter.FILTER_ALPHA;
    }
}
