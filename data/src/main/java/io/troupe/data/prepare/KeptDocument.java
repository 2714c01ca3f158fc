package io.troupe.data.prepare;

import io.troupe.data.shard.Split;

/**
 * A document that survived cleaning and dedup, ready to tokenize.
 *
 * @param split where its tokens go
 * @param text its text
 */
record KeptDocument(Split split, String text) {
}
