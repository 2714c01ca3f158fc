package io.troupe.data.dedup;

/**
 * A set of longs in one flat array (open addressing, linear probing): 8 bytes a slot instead of
 * the ~50 a {@code HashSet<Long>} entry costs, which is what lets the dedup index hold millions
 * of documents. Grows by doubling up to a memory budget; once at the budget and 85% full, it
 * refuses new keys ({@link Add#FULL}) but still answers lookups.
 *
 * <p>Not thread-safe.
 */
public final class LongHashSet {

    /** The outcome of {@link #add}. */
    public enum Add {
        /** The key was new and is now in the set. */
        ADDED,
        /** The key was already there. */
        PRESENT,
        /** The key is new but the set is at its budget; it was not added. */
        FULL
    }

    private static final long EMPTY = 0;
    // 0 marks an empty slot, so the key 0 is stored as this stand-in (and the stand-in collides
    // with 0; for 64-bit hashes that is a 2^-64 event).
    private static final long ZERO_KEY = 0x9E3779B97F4A7C15L;
    private static final int MAX_SLOTS = 1 << 30;

    private final int maxSlots;
    private long[] slots;
    private int mask;
    private int shift;
    private int size;

    /** A set that may grow to about 1 billion keys. */
    public LongHashSet() {
        this(8L * MAX_SLOTS);
    }

    /**
     * A set whose table never exceeds {@code maxBytes}.
     *
     * @throws IllegalArgumentException if the budget is below 1 KiB
     */
    public LongHashSet(long maxBytes) {
        if (maxBytes < 1024) {
            throw new IllegalArgumentException("a LongHashSet needs at least 1 KiB, got " + maxBytes);
        }
        this.maxSlots = (int) Math.min(MAX_SLOTS, Long.highestOneBit(maxBytes / 8));
        allocate(Math.min(maxSlots, 256));
    }

    /** Whether {@code key} is in the set. */
    public boolean contains(long key) {
        long k = key == EMPTY ? ZERO_KEY : key;
        for (int i = index(k); ; i = (i + 1) & mask) {
            long s = slots[i];
            if (s == k) {
                return true;
            }
            if (s == EMPTY) {
                return false;
            }
        }
    }

    /** Adds {@code key} unless present or the set is full. */
    public Add add(long key) {
        long k = key == EMPTY ? ZERO_KEY : key;
        int i = index(k);
        for (; ; i = (i + 1) & mask) {
            long s = slots[i];
            if (s == k) {
                return Add.PRESENT;
            }
            if (s == EMPTY) {
                break;
            }
        }
        if (size + 1 > slots.length / 2) {
            if (slots.length < maxSlots) {
                allocate(slots.length * 2);
                return add(key);
            }
            if (size + 1 > slots.length * 0.85) {
                return Add.FULL;
            }
        }
        slots[i] = k;
        size++;
        return Add.ADDED;
    }

    /** Number of keys. */
    public int size() {
        return size;
    }

    /** Bytes the table takes now. */
    public long bytes() {
        return 8L * slots.length;
    }

    private int index(long k) {
        // Fibonacci hashing: the top bits of k * 2^64/phi spread even poorly mixed keys.
        return (int) ((k * 0x9E3779B97F4A7C15L) >>> shift);
    }

    private void allocate(int capacity) {
        long[] old = slots;
        slots = new long[capacity];
        mask = capacity - 1;
        shift = 64 - Integer.numberOfTrailingZeros(capacity);
        size = 0;
        if (old != null) {
            for (long k : old) {
                if (k != EMPTY) {
                    int i = index(k);
                    while (slots[i] != EMPTY) {
                        i = (i + 1) & mask;
                    }
                    slots[i] = k;
                    size++;
                }
            }
        }
    }
}
