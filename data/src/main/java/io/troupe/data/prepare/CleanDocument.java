package io.troupe.data.prepare;

import io.troupe.data.dedup.Fingerprint;
import io.troupe.data.shard.Split;

/**
 * A document after decoding and cleaning, on its way to the deduplicator.
 *
 * @param id its identity (file and part or line)
 * @param text the cleaned text
 * @param split the split its identity hashes to
 * @param utf8Bytes the size of {@code text} in UTF-8
 * @param fingerprint its dedup keys
 */
record CleanDocument(String id, String text, Split split, long utf8Bytes, Fingerprint fingerprint) {
}
