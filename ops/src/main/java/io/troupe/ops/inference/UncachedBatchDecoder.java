package io.troupe.ops.inference;

import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * A {@link BatchDecoder} over today's {@link ExportedModel}, which has no KV cache: every step
 * re-runs each sequence's whole window (its last {@code blockSize} tokens). Sequences of
 * different lengths share one run by padding on the right: the model is causal, so the logits
 * at a sequence's last real position do not see the padding after it. Correct, just slower
 * than a cached decoder; prompts longer than the context are cropped to their last
 * {@code blockSize} tokens, as {@code troupe generate} does.
 */
public final class UncachedBatchDecoder implements BatchDecoder {
    /** Most logits one run may return ([B, T, V] floats), so a large vocabulary splits the batch instead of the heap. */
    private static final long MAX_LOGITS_PER_RUN = 32L << 20;

    private final ExportedModel model;
    private final int capacity;
    private final Set<WindowSlot> held = Collections.newSetFromMap(new IdentityHashMap<>());

    /**
     * @param capacity how many sequences may be open at once
     */
    public UncachedBatchDecoder(ExportedModel model, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.model = model;
        this.capacity = capacity;
    }

    /** A sequence's last {@code blockSize} tokens (a ring would save copies; windows are small). */
    private final class WindowSlot implements Slot {
        private final int[] window = new int[model.blockSize()];
        private int windowLength;
        private int length;

        void append(int token) {
            if (windowLength == window.length) {
                System.arraycopy(window, 1, window, 0, window.length - 1);
                windowLength--;
            }
            window[windowLength++] = token;
            length++;
        }

        @Override
        public int length() {
            return length;
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
        return held.size();
    }

    @Override
    public Opened open(int[] prompt) throws Exception {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("a prompt needs at least one token");
        }
        if (held.size() >= capacity) {
            throw new IllegalStateException("all " + capacity + " slots are held");
        }
        WindowSlot slot = new WindowSlot();
        for (int token : prompt) {
            checkToken(token);
            slot.append(token);
        }
        float[][] logits = run(List.of(slot));
        held.add(slot);
        return new Opened(slot, logits[0]);
    }

    @Override
    public float[][] step(List<Slot> slots, int[] tokens) throws Exception {
        if (slots.size() != tokens.length) {
            throw new IllegalArgumentException(slots.size() + " slots but " + tokens.length + " tokens");
        }
        WindowSlot[] windows = new WindowSlot[slots.size()];
        for (int i = 0; i < windows.length; i++) {
            Slot slot = slots.get(i);
            if (!(slot instanceof WindowSlot w) || !held.contains(w)) {
                throw new IllegalArgumentException("slot " + i + " is not open in this decoder");
            }
            checkToken(tokens[i]);
            windows[i] = w;
        }
        for (int i = 0; i < windows.length; i++) {
            windows[i].append(tokens[i]);
        }
        return run(Arrays.asList(windows));
    }

    private void checkToken(int token) {
        if (token < 0 || token >= model.vocabSize()) {
            throw new IllegalArgumentException("token " + token + " is outside [0, " + model.vocabSize() + ")");
        }
    }

    /** [slots][V] logits after each slot's last token, in as few runs as the logits budget allows. */
    private float[][] run(List<WindowSlot> slots) throws Exception {
        int vocab = model.vocabSize();
        float[][] next = new float[slots.size()][];
        int longest = slots.stream().mapToInt(s -> s.windowLength).max().orElse(1);
        int rowsPerRun = (int) Math.max(1, Math.min(slots.size(), MAX_LOGITS_PER_RUN / ((long) longest * vocab)));
        for (int start = 0; start < slots.size(); start += rowsPerRun) {
            int rows = Math.min(rowsPerRun, slots.size() - start);
            long[] ids = new long[rows * longest]; // [B, T], right-padded with token 0
            for (int r = 0; r < rows; r++) {
                WindowSlot s = slots.get(start + r);
                for (int t = 0; t < s.windowLength; t++) {
                    ids[r * longest + t] = s.window[t];
                }
            }
            float[] logits = model.logits(ids, rows, longest); // [B, T, V]
            for (int r = 0; r < rows; r++) {
                int last = slots.get(start + r).windowLength - 1;
                int from = (r * longest + last) * vocab;
                next[start + r] = Arrays.copyOfRange(logits, from, from + vocab);
            }
        }
        return next;
    }

    @Override
    public void release(Slot slot) {
        if (slot instanceof WindowSlot w) {
            held.remove(w);
        }
    }

    /** The model belongs to whoever opened it; the decoder holds nothing native of its own. */
    @Override
    public void close() {
        held.clear();
    }
}
