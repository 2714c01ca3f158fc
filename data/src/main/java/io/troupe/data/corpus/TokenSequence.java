package io.troupe.data.corpus;

/**
 * A read-only run of token ids, stored as compactly as the vocabulary allows.
 *
 * <p>Positions are {@code long} so that memory-mapped token shards larger than 2^31 tokens fit
 * the same interface. Samplers copy whole windows with {@link #copyTo}, one call per window,
 * so the cost of the interface call does not multiply by the window length.
 */
public interface TokenSequence {

    /** Largest vocabulary stored at two bytes per token (uint16, as nanoGPT's .bin files). */
    int UINT16_VOCAB_LIMIT = 1 << 16;

    /** Number of tokens. */
    long length();

    /** The token id at {@code index}. */
    int get(long index);

    /**
     * Copies {@code count} token ids starting at {@code from} into {@code dst}, widened to long
     * (the index type ONNX Runtime's Gather and embedding inputs take).
     *
     * @throws IndexOutOfBoundsException if either range is out of bounds
     */
    void copyTo(long from, long[] dst, int dstOffset, int count);

    /** A view of tokens {@code [from, to)}; no tokens are copied. */
    TokenSequence slice(long from, long to);

    /**
     * Wraps token ids from a tokenizer with the given vocabulary size, at two bytes per token
     * when the vocabulary fits in 16 bits (char-level and GPT-2 BPE both do), four otherwise.
     *
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize)}
     */
    static TokenSequence of(int[] tokens, int vocabSize) {
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize must be positive, got " + vocabSize);
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocabSize) {
                throw new IllegalArgumentException("token " + tokens[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        if (vocabSize <= UINT16_VOCAB_LIMIT) {
            char[] packed = new char[tokens.length];
            for (int i = 0; i < tokens.length; i++) {
                packed[i] = (char) tokens[i];
            }
            return new Uint16TokenSequence(packed, 0, packed.length);
        }
        return new IntTokenSequence(tokens.clone(), 0, tokens.length);
    }
}
