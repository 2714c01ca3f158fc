package io.troupe.ops.inference;

import ai.onnxruntime.OrtException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * A {@link BatchDecoder} over {@code model.onnx} alone, for model directories exported before
 * the KV-cache decoder existed: every step runs each sequence's whole window (its last
 * block_size tokens, from position 0) again. Slow, but the reference the cached decoder must
 * agree with.
 */
public final class UncachedDecoder implements BatchDecoder {
    private final ExportedModel model;
    private final int capacity;
    private final Set<Sequence> open = Collections.newSetFromMap(new IdentityHashMap<>());

    /**
     * @param capacity how many sequences may be open at once (they keep only their token ids)
     */
    public UncachedDecoder(ExportedModel model, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.model = model;
        this.capacity = capacity;
    }

    private static final class Sequence implements Slot {
        final List<Integer> tokens = new ArrayList<>();

        @Override
        public int length() {
            return tokens.size();
        }
    }

    @Override
    public int vocabSize() {
        return model.vocabSize();
    }

    @Override
    public int blockSize() {
        return model.blockSize();
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int openSlots() {
        return open.size();
    }

    @Override
    public Opened open(int[] prompt) throws OrtException {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("a sequence starts from at least one token");
        }
        if (open.size() >= capacity) {
            throw new IllegalStateException("all " + capacity + " slots are held; release one first");
        }
        Sequence sequence = new Sequence();
        for (int id : prompt) {
            sequence.tokens.add(id);
        }
        float[] logits = next(sequence);
        open.add(sequence);
        return new Opened(sequence, logits);
    }

    @Override
    public float[][] step(List<Slot> slots, int[] tokens) throws OrtException {
        if (slots.size() != tokens.length) {
            throw new IllegalArgumentException(slots.size() + " slots but " + tokens.length + " tokens");
        }
        for (Slot slot : slots) {
            if (!(slot instanceof Sequence s) || !open.contains(s)) {
                throw new IllegalArgumentException("the slot is not open in this decoder (released, or from another one)");
            }
        }
        float[][] logits = new float[slots.size()][];
        for (int i = 0; i < slots.size(); i++) {
            Sequence sequence = (Sequence) slots.get(i);
            sequence.tokens.add(tokens[i]);
            logits[i] = next(sequence);
        }
        return logits;
    }

    /** Logits [V] after the sequence's last block_size tokens, run from position 0. */
    private float[] next(Sequence sequence) throws OrtException {
        List<Integer> tokens = sequence.tokens;
        int len = Math.min(tokens.size(), model.blockSize());
        long[] ids = new long[len];
        for (int i = 0; i < len; i++) {
            ids[i] = tokens.get(tokens.size() - len + i);
        }
        float[] all = model.logits(ids, 1, len);
        float[] last = new float[model.vocabSize()];
        System.arraycopy(all, (len - 1) * last.length, last, 0, last.length);
        return last;
    }

    @Override
    public void release(Slot slot) {
        if (slot instanceof Sequence s) {
            open.remove(s);
        }
    }

    /** Closes the model too. */
    @Override
    public void close() throws OrtException {
        open.clear();
        model.close();
    }
}
