package io.troupe.worker.job;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The coordinator's record of which samples workers report having trained on, epoch by epoch.
 * It is the check on exactly-once data: a sample recorded twice is a duplicate; a sample
 * below the committed cursor that nobody recorded is lost. Epochs recorded in full are
 * dropped, so memory stays at about one epoch's bits.
 */
public final class SampleLedger {
    private final long perEpoch;
    private final Map<Long, BitSet> open = new HashMap<>();
    private long consumed;
    private long duplicated;

    /** A ledger over epochs of {@code perEpoch} samples, with samples below {@code start} already consumed. */
    public SampleLedger(long perEpoch, long start) {
        if (perEpoch < 1) {
            throw new IllegalArgumentException("an epoch needs at least one sample, got " + perEpoch);
        }
        this.perEpoch = perEpoch;
        long firstEpoch = start / perEpoch;
        if (start % perEpoch != 0) {
            BitSet partial = new BitSet();
            partial.set(0, (int) (start % perEpoch));
            open.put(firstEpoch, partial);
        }
        this.consumed = start;
    }

    /** Records that samples {@code from .. from + count - 1} were trained on. */
    public void record(long from, long count) {
        for (long g = from; g < from + count; g++) {
            long epoch = g / perEpoch;
            BitSet seen = open.computeIfAbsent(epoch, e -> new BitSet());
            int position = (int) (g % perEpoch);
            if (seen.get(position)) {
                duplicated++;
                continue;
            }
            seen.set(position);
            consumed++;
            if (seen.cardinality() == perEpoch) {
                open.remove(epoch);
            }
        }
    }

    /** Distinct samples trained on. */
    public long consumed() {
        return consumed;
    }

    /** Samples trained on more than once (each repeat counts). */
    public long duplicated() {
        return duplicated;
    }

    /**
     * Samples below {@code cursor} (everything committed steps should have used) that no worker
     * reported, plus any reported at or beyond it (work nobody asked for counts as misplaced).
     */
    public long lost(long cursor) {
        long beyond = 0;
        for (Map.Entry<Long, BitSet> e : open.entrySet()) {
            long base = e.getKey() * perEpoch;
            BitSet bits = e.getValue();
            for (int p = bits.nextSetBit(0); p >= 0; p = bits.nextSetBit(p + 1)) {
                if (base + p >= cursor) {
                    beyond++;
                }
            }
        }
        return (cursor - (consumed - beyond)) + beyond;
    }
}
