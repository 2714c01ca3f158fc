package io.troupe.data.dedup;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;

/**
 * Decides, in stream order, whether a document is new: not an exact copy of an earlier kept
 * document (same text hash) and not a near copy (shares an LSH band key with one). The first
 * occurrence wins, so the result does not depend on thread count. Exact hashes and band keys
 * live in one {@link LongHashSet} within the configured memory budget.
 *
 * <p>Not thread-safe: it is the one sequential stage of cleaning.
 */
public final class Deduplicator {

    private final DedupSettings settings;
    private final Counters counters;
    private final LongHashSet index;

    /** A deduplicator with an empty index. */
    public Deduplicator(DedupSettings settings, Counters counters) {
        this.settings = settings;
        this.counters = counters;
        this.index = new LongHashSet(settings.indexBytes());
    }

    /** Whether to keep the document; if so, it is remembered for later ones. */
    public boolean keep(Fingerprint fingerprint) {
        if (settings.exact() && index.contains(fingerprint.exact())) {
            counters.increment(Counter.EXACT_DUPLICATES);
            return false;
        }
        for (long band : fingerprint.bands()) {
            if (index.contains(band)) {
                counters.increment(Counter.NEAR_DUPLICATES);
                return false;
            }
        }
        boolean full = false;
        if (settings.exact()) {
            full = index.add(fingerprint.exact()) == LongHashSet.Add.FULL;
        }
        for (long band : fingerprint.bands()) {
            full |= index.add(band) == LongHashSet.Add.FULL;
        }
        if (full) {
            counters.increment(Counter.DEDUP_NOT_INDEXED);
        }
        return true;
    }

    /** Bytes the index takes now. */
    public long indexBytes() {
        return index.bytes();
    }
}
