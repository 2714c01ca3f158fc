package io.troupe.data.ingest;

/** What to do with bytes that are not valid in the input encoding. */
public enum OnInvalid {
    /** Substitute U+FFFD for each bad sequence and keep the document. */
    REPLACE,
    /** Drop the whole document. */
    SKIP,
    /** Stop the run with an error naming the file and line. */
    FAIL
}
