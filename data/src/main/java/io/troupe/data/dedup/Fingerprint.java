package io.troupe.data.dedup;

/**
 * What the deduplicator needs of a document, computed on a worker thread.
 *
 * @param exact hash of the whole cleaned text
 * @param bands LSH band keys of its MinHash signature; empty if near dedup is off or the text
 *     has no words
 */
public record Fingerprint(long exact, long[] bands) {
}
