package io.troupe.data.tokenize;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Learns a byte-level BPE vocabulary: start from the 256 bytes and repeatedly merge the most
 * frequent adjacent pair of tokens inside the corpus's pieces, until the vocabulary holds
 * {@code vocabSize} tokens (special tokens included).
 *
 * <p>Incremental, as fast BPE trainers are: pair counts are kept up to date and every merge
 * rewrites only the pieces that contain the merged pair, so a merge costs time in proportion to
 * how often its pair occurs, not to the corpus size. The most frequent pair comes from a heap
 * whose stale entries are skipped when popped. Ties go to the pair with the smaller ids, so the
 * result depends only on the counts, never on hash order.
 */
public final class BpeTrainer {

    // A pair seen once cannot shorten the corpus by more than one token: not worth an id.
    private static final long MIN_PAIR_COUNT = 2;

    /** Mutable state of one pair: its weighted count and the pieces it may occur in. */
    private static final class PairStat {
        long count;
        int[] pieces = new int[4];
        int size;

        void addPiece(int piece) {
            if (size == pieces.length) {
                pieces = Arrays.copyOf(pieces, size * 2);
            }
            pieces[size++] = piece;
        }
    }

    /** A heap entry; stale when {@code count} no longer matches the pair's current count. */
    private record Candidate(long count, long pair) implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate o) {
            return count != o.count ? Long.compare(o.count, count) : Long.compare(pair, o.pair);
        }
    }

    private final int[][] symbols;
    private final int[] lengths;
    private final long[] weights;
    private final int[] visited;
    private final Map<Long, PairStat> pairs = new HashMap<>();
    private final PriorityQueue<Candidate> heap = new PriorityQueue<>();
    private final List<byte[]> tokenBytes = new ArrayList<>();
    private final Map<ByteBuffer, Integer> idOfBytes = new HashMap<>();

    private BpeTrainer(PieceCounts counts) {
        int n = counts.distinct();
        symbols = new int[n][];
        lengths = new int[n];
        weights = new long[n];
        visited = new int[n];
        Arrays.fill(visited, -1);
        int[] index = {0};
        counts.forEach((piece, count) -> {
            byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
            int[] s = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                s[i] = bytes[i] & 0xFF;
            }
            symbols[index[0]] = s;
            lengths[index[0]] = s.length;
            weights[index[0]] = count;
            index[0]++;
        });
        for (int b = 0; b < BpeTokenizer.BYTE_TOKENS; b++) {
            byte[] one = {(byte) b};
            tokenBytes.add(one);
            idOfBytes.put(ByteBuffer.wrap(one), b);
        }
    }

    /**
     * Trains a tokenizer.
     *
     * @param counts the corpus as piece counts
     * @param vocabSize the vocabulary wanted, special tokens included; fewer tokens result when
     *     the corpus runs out of pairs that occur at least twice
     * @param specialTokens tokens appended after the merges, e.g. {@code <|endoftext|>}
     * @throws IllegalArgumentException if {@code vocabSize} leaves no room for the 256 bytes
     *     and the special tokens
     */
    public static BpeTokenizer train(PieceCounts counts, int vocabSize, List<String> specialTokens) {
        int wantedMerges = vocabSize - BpeTokenizer.BYTE_TOKENS - specialTokens.size();
        if (wantedMerges < 0) {
            throw new IllegalArgumentException("vocab_size " + vocabSize + " is too small: the 256"
                    + " byte tokens and " + specialTokens.size() + " special token(s) need "
                    + (BpeTokenizer.BYTE_TOKENS + specialTokens.size()));
        }
        return new BpeTrainer(counts).run(wantedMerges, specialTokens);
    }

    private BpeTokenizer run(int wantedMerges, List<String> specialTokens) {
        for (int p = 0; p < symbols.length; p++) {
            for (int i = 0; i + 1 < lengths[p]; i++) {
                PairStat stat = pairs.computeIfAbsent(key(symbols[p][i], symbols[p][i + 1]), k -> new PairStat());
                stat.count += weights[p];
                if (stat.size == 0 || stat.pieces[stat.size - 1] != p) {
                    stat.addPiece(p);
                }
            }
        }
        pairs.forEach((pair, stat) -> heap.add(new Candidate(stat.count, pair)));

        List<int[]> merges = new ArrayList<>();
        int step = 0;
        while (merges.size() < wantedMerges) {
            Candidate best = heap.poll();
            if (best == null || best.count < MIN_PAIR_COUNT) {
                break;
            }
            PairStat stat = pairs.get(best.pair);
            if (stat == null || stat.count != best.count) {
                if (stat != null && stat.count >= MIN_PAIR_COUNT) {
                    heap.add(new Candidate(stat.count, best.pair));
                }
                continue;
            }
            int left = (int) (best.pair >>> 32);
            int right = (int) best.pair;
            byte[] joined = concat(tokenBytes.get(left), tokenBytes.get(right));
            // Two different pairs can spell the same bytes ("a"+"bc", "ab"+"c"); the rank table
            // needs one id per spelling, so the second merge reuses the first one's token.
            Integer existing = idOfBytes.get(ByteBuffer.wrap(joined));
            int merged;
            if (existing != null) {
                merged = existing;
            } else {
                merged = tokenBytes.size();
                tokenBytes.add(joined);
                idOfBytes.put(ByteBuffer.wrap(joined), merged);
                merges.add(new int[] {left, right});
            }
            apply(best.pair, left, right, merged, step++);
        }
        return BpeTokenizer.of(merges.toArray(new int[0][]), specialTokens);
    }

    /** Replaces every (left, right) by {@code merged} in the pieces that hold it, updating counts. */
    private void apply(long pair, int left, int right, int merged, int step) {
        PairStat stat = pairs.remove(pair);
        Map<Long, PairStat> grown = new HashMap<>();
        for (int k = 0; k < stat.size; k++) {
            int p = stat.pieces[k];
            if (visited[p] == step) {
                continue;
            }
            visited[p] = step;
            int[] s = symbols[p];
            int n = lengths[p];
            if (!contains(s, n, left, right)) {
                continue; // an earlier merge already rewrote this occurrence
            }
            long w = weights[p];
            for (int i = 0; i + 1 < n; i++) {
                adjust(s[i], s[i + 1], -w, pair);
            }
            int j = 0;
            for (int i = 0; i < n; ) {
                if (i + 1 < n && s[i] == left && s[i + 1] == right) {
                    s[j++] = merged;
                    i += 2;
                } else {
                    s[j++] = s[i++];
                }
            }
            lengths[p] = j;
            for (int i = 0; i + 1 < j; i++) {
                long key = key(s[i], s[i + 1]);
                PairStat after = adjust(s[i], s[i + 1], w, pair);
                // Only pairs with the new token are new to this piece; the others list it already.
                if (after != null && (s[i] == merged || s[i + 1] == merged)) {
                    if (after.size == 0 || after.pieces[after.size - 1] != p) {
                        after.addPiece(p);
                    }
                    grown.put(key, after);
                }
            }
        }
        // Counts that dropped leave stale heap entries, skipped when popped; counts that grew
        // (pairs with the new token) must be offered now.
        grown.forEach((key, s) -> {
            if (s.count >= MIN_PAIR_COUNT) {
                heap.add(new Candidate(s.count, key));
            }
        });
    }

    private PairStat adjust(int a, int b, long delta, long removedPair) {
        long key = key(a, b);
        if (key == removedPair) {
            return null;
        }
        PairStat stat = pairs.computeIfAbsent(key, k -> new PairStat());
        stat.count += delta;
        return stat;
    }

    private static boolean contains(int[] s, int n, int left, int right) {
        for (int i = 0; i + 1 < n; i++) {
            if (s[i] == left && s[i + 1] == right) {
                return true;
            }
        }
        return false;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
