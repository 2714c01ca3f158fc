package io.troupe.data.tokenize;

import java.util.HashMap;
import java.util.Map;
import java.util.function.ObjLongConsumer;

/**
 * How often each pre-tokenized piece ({@link Pretokenizer}) occurs in a corpus: the input of
 * {@link BpeTrainer}. BPE only ever merges inside a piece, so a corpus of gigabytes reduces to a
 * table of its distinct pieces, typically a few hundred thousand.
 *
 * <p>Not thread-safe: give each thread its own and {@link #addAll} them together.
 */
public final class PieceCounts {

    private final Map<String, long[]> counts = new HashMap<>();
    private long bytes;

    /** Counts the pieces of {@code text}. */
    public void add(String text) {
        Pretokenizer.forEachPiece(text, piece -> counts.computeIfAbsent(piece, p -> new long[1])[0]++);
        bytes += text.length();
    }

    /** Adds {@code count} occurrences of one piece. */
    public void add(String piece, long count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive, got " + count);
        }
        counts.computeIfAbsent(piece, p -> new long[1])[0] += count;
    }

    /** Adds another table's counts to this one. */
    public void addAll(PieceCounts other) {
        other.counts.forEach((piece, n) -> counts.computeIfAbsent(piece, p -> new long[1])[0] += n[0]);
        bytes += other.bytes;
    }

    /** Number of distinct pieces. */
    public int distinct() {
        return counts.size();
    }

    /** Characters of text counted so far (the size of the training sample). */
    public long chars() {
        return bytes;
    }

    /** Calls {@code action} with every piece and its count, in no particular order. */
    public void forEach(ObjLongConsumer<String> action) {
        counts.forEach((piece, n) -> action.accept(piece, n[0]));
    }
}
