package io.troupe.data.prepare;

import io.troupe.data.shard.Split;

/**
 * A document's token ids, its separator included, ready to write.
 *
 * @param split where the tokens go
 * @param ids the ids
 * @param textChars the length of the text they encode, for progress
 */
record TokenizedDocument(Split split, int[] ids, long textChars) {
}
