package io.troupe.ops.inference;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link BatchDecoder} with deterministic logits: after token t the likeliest next token is
 * (t + 1) mod V (logit 1, every other 0), so greedy decoding counts up the vocabulary and
 * sampling at temperature 1 still varies with the seed. Counts slots and records batch sizes.
 */
final class FakeBatchDecoder implements BatchDecoder {
    final int vocab;
    final int capacity;
    final AtomicInteger open = new AtomicInteger();
    final AtomicInteger mostOpen = new AtomicInteger();
    final List<Integer> batchSizes = Collections.synchronizedList(new ArrayList<>());
    /** Sequences started by each {@link #openAll} call (requests that joined together). */
    final List<Integer> joinSizes = Collections.synchronizedList(new ArrayList<>());
    /** When set, every step takes one permit first: the test decides when steps run. */
    volatile Semaphore gate;
    volatile boolean failNextStep;

    FakeBatchDecoder(int vocab, int capacity) {
        this.vocab = vocab;
        this.capacity = capacity;
    }

    private static final class FakeSlot implements Slot {
        int last;
        int length;
        boolean released;

        @Override
        public int length() {
            return length;
        }
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int blockSize() {
        return 64;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int openSlots() {
        return open.get();
    }

    @Override
    public Opened open(int[] prompt) {
        if (open.get() >= capacity) {
            throw new IllegalStateException("over capacity");
        }
        mostOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
        FakeSlot slot = new FakeSlot();
        slot.last = prompt[prompt.length - 1];
        slot.length = prompt.length;
        return new Opened(slot, logitsAfter(slot.last));
    }

    @Override
    public List<Opened> openAll(List<Start> starts) throws Exception {
        joinSizes.add(starts.size());
        return BatchDecoder.super.openAll(starts);
    }

    @Override
    public float[][] step(List<Slot> slots, int[] tokens) throws Exception {
        Semaphore g = gate;
        if (g != null) {
            g.acquire();
        }
        batchSizes.add(slots.size());
        if (failNextStep) {
            failNextStep = false;
            throw new IllegalStateException("decoder exploded");
        }
        float[][] out = new float[slots.size()][];
        for (int i = 0; i < out.length; i++) {
            FakeSlot s = (FakeSlot) slots.get(i);
            if (s.released) {
                throw new IllegalStateException("stepped a released slot");
            }
            s.last = tokens[i];
            s.length++;
            out[i] = logitsAfter(s.last);
        }
        return out;
    }

    private float[] logitsAfter(int token) {
        float[] logits = new float[vocab];
        logits[(token + 1) % vocab] = 1f;
        return logits;
    }

    @Override
    public void release(Slot slot) {
        FakeSlot s = (FakeSlot) slot;
        if (!s.released) {
            s.released = true;
            open.decrementAndGet();
        }
    }

    @Override
    public void close() {
    }
}
