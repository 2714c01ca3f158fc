package io.troupe.data.clean;

import io.troupe.data.report.Counters;

/** One cleaning step that rewrites a document's text and counts what it changed. */
interface TextTransform {

    /**
     * Rewrites {@code text}; returns the same instance when there is nothing to change, which
     * is the common case and costs one scan.
     */
    String apply(String text, Counters counters);
}
