package io.troupe.data.clean;

import io.troupe.data.report.Counter;

/** A rule that drops whole documents; each has its own counter in the report. */
interface DocumentFilter {

    /** Whether a document with these statistics is kept. */
    boolean keep(TextStats stats);

    /** The counter of documents this filter dropped. */
    Counter counter();
}
