package io.troupe.worker.train;

/**
 * Dynamic loss scaling for fp16 training: the step graph multiplies the loss by {@link #scale()}
 * before its float16 backward pass (so small gradients do not flush to zero) and divides the
 * float32 gradients by it again. A step whose gradient overflowed (inf or NaN) is skipped and
 * the scale halved; after {@code growthInterval} clean steps in a row the scale doubles.
 *
 * <p>The scale is a power of two between 1 and 2^24, so it is a whole number (the graph's
 * {@code loss_scale} input is int64) and dividing by it is exact. Every worker of a job sees the
 * same all-reduced gradient, so every worker's scaler takes the same decisions.
 *
 * <p>Not thread-safe; it belongs to the step loop.
 */
public final class LossScaler {
    /** The scale a run starts with: 2^16, as PyTorch's GradScaler. */
    public static final long INITIAL_SCALE = 1L << 16;
    /** The largest scale: 2^24, still exact as a float. */
    public static final long MAX_SCALE = 1L << 24;

    private final int growthInterval;
    private long scale;
    private int cleanInARow;
    private long overflows;

    /**
     * @param initialScale the first scale, a power of two in [1, {@link #MAX_SCALE}]
     * @param growthInterval clean steps in a row after which the scale doubles (at least 1)
     */
    public LossScaler(long initialScale, int growthInterval) {
        if (initialScale < 1 || initialScale > MAX_SCALE || Long.bitCount(initialScale) != 1) {
            throw new IllegalArgumentException("a loss scale must be a power of two in [1, 2^24], got " + initialScale);
        }
        if (growthInterval < 1) {
            throw new IllegalArgumentException("loss_scale_window must be >= 1, got " + growthInterval);
        }
        this.scale = initialScale;
        this.growthInterval = growthInterval;
    }

    /** The scale the next step's loss is multiplied by. */
    public long scale() {
        return scale;
    }

    /** Steps skipped so far because their scaled gradient overflowed. */
    public long overflows() {
        return overflows;
    }

    /** Clean steps since the last overflow or growth. */
    public int cleanInARow() {
        return cleanInARow;
    }

    /**
     * Records a step's outcome and adapts the scale.
     *
     * @param finiteGradient whether every gradient element (after the all-reduce) was finite
     * @return true when the optimizer step must be skipped: the gradient overflowed
     */
    public boolean update(boolean finiteGradient) {
        if (!finiteGradient) {
            overflows++;
            cleanInARow = 0;
            scale = Math.max(1, scale / 2);
            return true;
        }
        cleanInARow++;
        if (cleanInARow >= growthInterval) {
            cleanInARow = 0;
            scale = Math.min(MAX_SCALE, scale * 2);
        }
        return false;
    }

    /** The state to checkpoint: scale, clean steps in a row, overflows. */
    public long[] exportState() {
        return new long[] {scale, cleanInARow, overflows};
    }

    /**
     * Restores {@link #exportState()}'s values.
     *
     * @throws IllegalArgumentException if they are not a valid state
     */
    public void importState(long[] state) {
        if (state.length != 3 || state[0] < 1 || state[0] > MAX_SCALE || Long.bitCount(state[0]) != 1
                || state[1] < 0 || state[2] < 0) {
            throw new IllegalArgumentException("not a loss-scaler state: " + java.util.Arrays.toString(state));
        }
        scale = state[0];
        // A resume may shorten loss_scale_window: the next clean step then grows the scale.
        cleanInARow = (int) Math.min(state[1], growthInterval - 1);
        overflows = state[2];
    }
}
