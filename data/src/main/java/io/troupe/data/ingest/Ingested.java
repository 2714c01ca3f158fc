package io.troupe.data.ingest;

/** What reading a file yields: documents, and the inputs that had to be skipped. */
public sealed interface Ingested permits RawDocument, SkippedInput {

    /** The file it came from. */
    InputFile file();

    /** Its weight when batching work: its size in bytes (at least 1). */
    long weight();
}
