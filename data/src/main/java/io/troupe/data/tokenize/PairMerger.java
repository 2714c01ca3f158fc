package io.troupe.data.tokenize;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.BooleanSupplier;

/**
 * The merge loop shared by {@link BpeTrainer} (bytes) and {@link WordPieceTrainer} (characters):
 * pieces are sequences of integer symbols with a weight (how often the piece occurs), and the
 * most frequent adjacent pair is merged into one symbol, again and again.
 *
 * <p>Incremental, as fast BPE trainers are: pair counts are kept up to date and every merge
 * rewrites only the pieces that contain the merged pair, so a merge costs time in proportion to
 * how often its pair occurs, not to the corpus size. The most frequent pair comes from a heap
 * whose stale entries are skipped when popped. Ties go to the pair with the smaller ids, so the
 * result depends only on the counts, never on hash order. Not thread-safe; used once.
 */
final class PairMerger {

    /** Names the symbol a pair becomes: a new id, or an existing one spelt the same. */
    interface Joiner {
        int join(int left, int right);
    }

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

    /**
     * @param symbols each piece's symbols; rewritten in place as pairs merge
     * @param weights how often each piece occurs
     */
    PairMerger(int[][] symbols, long[] weights) {
        this.symbols = symbols;
        this.weights = weights;
        this.lengths = new int[symbols.length];
        this.visited = new int[symbols.length];
        for (int p = 0; p < symbols.length; p++) {
            lengths[p] = symbols[p].length;
        }
        Arrays.fill(visited, -1);
    }

    /**
     * Merges the most frequent pair while {@code more} says so and some pair occurs at least
     * twice; {@code joiner} names each merged symbol.
     */
    void run(BooleanSupplier more, Joiner joiner) {
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
        int step = 0;
        while (more.getAsBoolean()) {
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
            apply(best.pair, left, right, joiner.join(left, right), step++);
        }
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
}
