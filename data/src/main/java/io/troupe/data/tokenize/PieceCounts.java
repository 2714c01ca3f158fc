package io.troupe.data.tokenize;

import java.util.HashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.ObjLongConsumer;

/**
 * How often each pre-tokenized piece ({@link Pretokenizer} for BPE, {@link BertWords} for
 * WordPiece) occurs in a corpus: the input of {@link BpeTrainer} and {@link WordPieceTrainer}. BPE only ever merges inside a piece, so a corpus of gigabytes reduces to a
 * table of its distinct pieces, typically a few hundred thousand.
 *
 * <p>Not thread-safe: give each thread its own and {@link #addAll} them together.
 */
public final class PieceCounts {

    private final Map<String, long[]> counts = new HashMap<>();
    private final BiConsumer<String, Consumer<String>> splitter;
    private long bytes;

    /** Counts GPT-2 pieces ({@link Pretokenizer}), for {@link BpeTrainer}. */
    public PieceCounts() {
        this(Pretokenizer::forEachPiece);
    }

    private PieceCounts(BiConsumer<String, Consumer<String>> splitter) {
        this.splitter = splitter;
    }

    /** Counts BERT's words ({@link BertWords}: lowercased, accents stripped), for {@link WordPieceTrainer}. */
    public static PieceCounts bertWords() {
        return new PieceCounts(BertWords::forEachWord);
    }

    /** Counts the pieces of {@code text}. */
    public void add(String text) {
        splitter.accept(text, piece -> counts.computeIfAbsent(piece, p -> new long[1])[0]++);
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
