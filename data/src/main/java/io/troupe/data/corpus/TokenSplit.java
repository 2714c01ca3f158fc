package io.troupe.data.corpus;

import io.troupe.data.DataException;
import io.troupe.data.tokenize.Tokenizer;

/**
 * A train/validation split of one token sequence, as nanoGPT's {@code prepare.py}: the first
 * {@code floor(n * 0.9)} tokens train, the rest validate. Both halves are views of the same
 * storage.
 *
 * @param train the first part, sampled for training
 * @param val the last part, used to estimate validation loss
 * @param origin the data the tokens came from (a run's summary names it), or null for tokens
 *     made in memory
 */
public record TokenSplit(TokenSequence train, TokenSequence val, DataIdentity origin) {

    /** nanoGPT's share of tokens that go to training. */
    public static final double TRAIN_FRACTION = 0.9;

    /** A split of tokens made in memory, of no named origin. */
    public TokenSplit(TokenSequence train, TokenSequence val) {
        this(train, val, null);
    }

    /** The same tokens (no copy), named as coming from {@code identity}. */
    public TokenSplit withOrigin(DataIdentity identity) {
        return new TokenSplit(train, val, identity);
    }

    /**
     * Encodes a corpus and splits it 90/10.
     *
     * @throws DataException if the corpus has characters the tokenizer cannot encode, or a
     *     split is too short for {@code blockSize}
     */
    public static TokenSplit encode(TextCorpus corpus, Tokenizer tokenizer, int blockSize)
            throws DataException {
        int[] ids;
        try {
            ids = tokenizer.encode(corpus.text());
        } catch (IllegalArgumentException e) {
            throw new DataException("corpus " + corpus.path() + ": " + e.getMessage(), e);
        }
        try {
            return of(TokenSequence.of(ids, tokenizer.vocabSize()), blockSize);
        } catch (DataException e) {
            throw new DataException("corpus " + corpus.path() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Splits tokens 90/10 (first 90% train).
     *
     * @throws DataException if either split has fewer than {@code blockSize + 1} tokens, the
     *     least that yields one (input, target) window
     */
    public static TokenSplit of(TokenSequence tokens, int blockSize) throws DataException {
        return of(tokens, TRAIN_FRACTION, blockSize);
    }

    /**
     * Splits tokens so that the first {@code floor(n * trainFraction)} train.
     *
     * @throws DataException if either split has fewer than {@code blockSize + 1} tokens
     */
    public static TokenSplit of(TokenSequence tokens, double trainFraction, int blockSize)
            throws DataException {
        if (!(trainFraction > 0 && trainFraction < 1)) {
            throw new IllegalArgumentException(
                    "trainFraction must be in (0, 1), got " + trainFraction);
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("block_size must be at least 1, got " + blockSize);
        }
        long n = tokens.length();
        // Same double arithmetic as Python's int(n * 0.9), so the cut lands on the same token.
        long cut = (long) Math.floor(n * trainFraction);
        requireLongEnough("training", cut, n, blockSize);
        requireLongEnough("validation", n - cut, n, blockSize);
        return new TokenSplit(tokens.slice(0, cut), tokens.slice(cut, n));
    }

    private static void requireLongEnough(String name, long length, long total, int blockSize)
            throws DataException {
        if (length < blockSize + 1L) {
            throw new DataException("the " + name + " split has " + length + " of " + total
                    + " tokens but block_size " + blockSize + " needs at least " + (blockSize + 1L)
                    + "; use a longer corpus or a smaller block_size");
        }
    }
}
