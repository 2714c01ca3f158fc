package io.troupe.data.source;

import io.troupe.data.DataException;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tokenized corpora of this process, shared read-only by every job in it: the K workers of
 * an embedded cluster, its coordinator, and the successive trials of a study open the same data
 * and get the same tokens, tokenized (or, for a dataset, mapped and verified) once.
 *
 * <p>An entry is keyed by the data's absolute path, its content hash and the tokenizer's
 * fingerprint (and for a dataset its shards' sizes and modification times), so a changed file (another hash) or another tokenizer is a new entry and is read
 * again. It holds the whole token sequence of a text file (2 bytes a token for vocabularies up
 * to 65,536) or an opened {@link io.troupe.data.shard.PreparedDataset} (memory-mapped shards,
 * off the heap).
 *
 * <p>Memory: the cache holds its values only through weak references, so it never keeps tokens
 * alive by itself. They live as long as a job holds them (a trainer's or worker job's
 * {@link io.troupe.data.corpus.TokenSplit}, the tuner's executor for the whole study) and the
 * garbage collector releases them after the last holder lets go; a later open of the same data
 * then tokenizes again. The keys of released entries are dropped on the next lookup.
 */
public final class TokenCache {
    private static final TokenCache SHARED = new TokenCache();

    /**
     * What one entry is: the data's absolute path, content hash and the tokenizer's fingerprint,
     * and for data the hash does not cover byte for byte (a dataset's shards, which the manifest
     * lists by hash but which are verified only when first opened) the files' sizes and
     * modification times, so a shard changed in place is verified again.
     */
    record Key(Path path, String sha256, String tokenizerSha256, String fileStamp) {
        Key {
            path = path.toAbsolutePath().normalize();
        }
    }

    /** Makes an entry's value on a miss. */
    @FunctionalInterface
    interface Loader<T> {
        T load() throws DataException;
    }

    private final ConcurrentHashMap<Key, Slot> slots = new ConcurrentHashMap<>();
    private final ReferenceQueue<Object> released = new ReferenceQueue<>();

    /** The cache every {@link DataSource#open(Path)} of this process uses. */
    public static TokenCache shared() {
        return SHARED;
    }

    /** A cache of its own (tests). */
    public TokenCache() {
    }

    /**
     * The value of {@code key}, loaded by {@code loader} if no holder keeps it. Concurrent
     * callers of one key wait for a single load instead of each loading.
     */
    <T> T get(Key key, Class<T> type, Loader<T> loader) throws DataException {
        dropReleased();
        Slot slot = slots.computeIfAbsent(key, k -> new Slot());
        synchronized (slot) {
            Object value = slot.value == null ? null : slot.value.get();
            if (value == null) {
                value = loader.load();
                slot.value = new Held(value, key, released);
            }
            return type.cast(value);
        }
    }

    /** Entries whose value is still alive. */
    int liveEntries() {
        dropReleased();
        return (int) slots.values().stream().filter(s -> s.value != null && s.value.get() != null).count();
    }

    private void dropReleased() {
        for (Object r = released.poll(); r != null; r = released.poll()) {
            Held held = (Held) r;
            slots.computeIfPresent(held.key, (k, slot) -> slot.value == held ? null : slot);
        }
    }

    /** One key's value; loads of one key are serialised on the slot. */
    private static final class Slot {
        volatile Held value;
    }

    /** A weak reference that knows its key, to drop the entry once the value is collected. */
    private static final class Held extends WeakReference<Object> {
        final Key key;

        Held(Object value, Key key, ReferenceQueue<Object> queue) {
            super(value, queue);
            this.key = key;
        }
    }
}
