package io.troupe.ops.inference;

import java.util.ArrayList;
import java.util.List;

/**
 * A causal language model that advances many independent sequences one token at a time,
 * sharing each forward run between them (continuous batching). A sequence holds a slot from
 * {@link #open} until {@link #release}; slots may join or leave between any two steps.
 *
 * <p>Not thread-safe: one scheduler thread drives it.
 */
public interface BatchDecoder extends AutoCloseable {

    /** One sequence's place in the decoder (its KV cache, when the decoder keeps one). */
    interface Slot {
        /** Tokens this sequence holds so far (prompt and generated). */
        int length();
    }

    /** Vocabulary size V of the logits. */
    int vocabSize();

    /** Context length the model was trained with (positions it can attend over). */
    int blockSize();

    /** How many sequences may hold a slot at once (the KV-cache memory budget). */
    int capacity();

    /** Slots currently held. */
    int openSlots();

    /** A sequence just started: its slot, and [V] logits of the token after its prompt. */
    record Opened(Slot slot, float[] logits) {
    }

    /**
     * Starts a sequence from its prompt (at least one token) and runs it (the prefill).
     *
     * @throws IllegalStateException when {@link #capacity()} slots are already held
     */
    Opened open(int[] prompt) throws Exception;

    /**
     * A sequence to start: its prompt (at least one token) and the most tokens it will generate,
     * so a decoder may size its cache to {@code prompt.length + maxTokens} (capped at the block).
     */
    record Start(int[] prompt, int maxTokens) {
    }

    /**
     * Starts several sequences at once; a decoder that can runs their prefills together, batched.
     * All or nothing: when it fails, no slot stays held. This default opens them one at a time.
     *
     * @return one {@link Opened} per start, in order
     * @throws IllegalStateException when the starts do not fit the free slots
     */
    default List<Opened> openAll(List<Start> starts) throws Exception {
        if (openSlots() + starts.size() > capacity()) {
            throw new IllegalStateException(starts.size() + " sequences do not fit the " + (capacity() - openSlots())
                    + " free slots");
        }
        List<Opened> opened = new ArrayList<>(starts.size());
        try {
            for (Start start : starts) {
                opened.add(open(start.prompt()));
            }
        } catch (Exception | Error e) {
            opened.forEach(o -> release(o.slot()));
            throw e;
        }
        return opened;
    }

    /**
     * Appends {@code tokens[i]} to {@code slots.get(i)} for every i, in one batched run.
     *
     * @return [slots.size()][V] logits of each sequence's next token
     */
    float[][] step(List<Slot> slots, int[] tokens) throws Exception;

    /** Frees a slot (finished, cancelled or failed); releasing twice is harmless. */
    void release(Slot slot);
}
