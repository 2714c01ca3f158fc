package io.troupe.worker.train;

import io.troupe.data.corpus.TokenSequence;
import java.nio.LongBuffer;

/**
 * Draws evaluation batches as nanoGPT's {@code get_batch}: B random window starts o in
 * {@code [0, n - T - 1]}, inputs {@code x = tokens[o, o+T)} and targets
 * {@code y = tokens[o+1, o+T+1)}, row-major (B, T).
 *
 * <p>Deterministic: the offsets depend only on the seed and the number of batches drawn, and
 * {@link #state()} / {@link #restore(long[])} carry the generator across a checkpoint, so a
 * resumed run sees exactly the batches the uninterrupted run would have seen. Each split gets
 * its own sampler (nanoGPT shares torch's global generator between train and val; separating
 * them keeps the training sequence independent of how often validation runs).
 *
 * <p>Training steps do not use it: they read the job's sample order
 * ({@code io.troupe.worker.job.SampleOrder}), the same for local and distributed runs. Evaluation
 * keeps random windows, so {@code eval_iters} batches estimate the loss over the whole split.
 *
 * <p>Not thread-safe; one sampler belongs to one evaluation loop.
 */
public final class BatchSampler {

    private final TokenSequence tokens;
    private final int batchSize;
    private final int blockSize;
    private final long offsets; // number of window starts: n - T
    private final long[] row;   // one window of T + 1 tokens, for the LongBuffer variant
    private Xoshiro256StarStar random;

    /**
     * @param tokens the split to sample from, at least {@code blockSize + 1} tokens long
     * @param batchSize B, the number of windows per batch
     * @param blockSize T, the number of tokens per window
     * @param seed the generator seed; equal seeds give equal batch sequences
     * @throws IllegalArgumentException if B or T is below 1 or the split is shorter than T + 1
     */
    public BatchSampler(TokenSequence tokens, int batchSize, int blockSize, long seed) {
        if (batchSize < 1 || blockSize < 1) {
            throw new IllegalArgumentException("batch_size and block_size must be at least 1, got "
                    + batchSize + " and " + blockSize);
        }
        if ((long) batchSize * blockSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("batch_size * block_size = "
                    + (long) batchSize * blockSize + " does not fit one Java array");
        }
        if (tokens.length() < blockSize + 1L) {
            throw new IllegalArgumentException("a split of " + tokens.length() + " tokens is too"
                    + " short for block_size " + blockSize + "; it needs at least "
                    + (blockSize + 1L) + " tokens");
        }
        this.tokens = tokens;
        this.batchSize = batchSize;
        this.blockSize = blockSize;
        this.offsets = tokens.length() - blockSize;
        this.row = new long[blockSize + 1];
        this.random = Xoshiro256StarStar.seeded(seed);
    }

    /** B, the number of windows per batch. */
    public int batchSize() {
        return batchSize;
    }

    /** T, the number of tokens per window. */
    public int blockSize() {
        return blockSize;
    }

    /**
     * Fills the next batch into {@code x} and {@code y}, each of length B * T, row-major (B, T).
     *
     * @throws IllegalArgumentException if an array does not have B * T elements
     */
    public void next(long[] x, long[] y) {
        requireLength("x", x.length);
        requireLength("y", y.length);
        for (int b = 0; b < batchSize; b++) {
            long offset = random.nextLong(offsets);
            tokens.copyTo(offset, x, b * blockSize, blockSize);
            tokens.copyTo(offset + 1, y, b * blockSize, blockSize);
        }
    }

    /**
     * Fills the next batch into the B * T elements of {@code x} and {@code y} from their
     * positions on, for example the direct buffers ONNX Runtime reads the batch from. The
     * buffers' positions do not move.
     *
     * @throws IllegalArgumentException if a buffer does not have exactly B * T elements remaining
     */
    public void next(LongBuffer x, LongBuffer y) {
        requireLength("x", x.remaining());
        requireLength("y", y.remaining());
        for (int b = 0; b < batchSize; b++) {
            long offset = random.nextLong(offsets);
            tokens.copyTo(offset, row, 0, blockSize + 1);
            x.put(x.position() + b * blockSize, row, 0, blockSize);
            y.put(y.position() + b * blockSize, row, 1, blockSize);
        }
    }

    /** The generator state after the batches drawn so far; store it in a checkpoint. */
    public long[] state() {
        return random.state();
    }

    /**
     * Continues from a state {@link #state()} returned, so the next batch is the one that
     * followed it.
     *
     * @throws IllegalArgumentException if the state is not a valid generator state
     */
    public void restore(long[] state) {
        random = Xoshiro256StarStar.fromState(state);
    }

    private void requireLength(String name, int length) {
        if (length != batchSize * blockSize) {
            throw new IllegalArgumentException(name + " has " + length + " elements; a batch needs"
                    + " batch_size * block_size = " + batchSize + " * " + blockSize + " = "
                    + batchSize * blockSize);
        }
    }
}
