package io.troupe.worker.train;

import java.nio.FloatBuffer;

/**
 * Averages the gradients of several micro-steps into one flat buffer, for gradient
 * accumulation.
 *
 * <p>Each micro-step's gradient is the gradient of that micro-batch's mean loss; averaging them
 * gives the gradient of the mean loss over the whole batch, the same result nanoGPT gets by
 * dividing the loss by {@code gradient_accumulation_steps} before {@code backward()}. Here the
 * graph's loss stays unscaled and the division happens once, in {@link #mean()}.
 *
 * <p>The number of micro-steps is counted, not fixed, so the accumulation can change from one
 * step to the next (when workers join or leave, the global batch stays fixed by adapting it).
 * Not thread-safe.
 */
public final class GradientAccumulator {

    // Chunk for reading a direct buffer: bulk gets into a small heap array, then a vectorised add.
    private static final int CHUNK = 1 << 14;

    private final float[] sum;
    private final float[] chunk;
    private int microSteps;

    /** An accumulator for {@code size} parameters. */
    public GradientAccumulator(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0, got " + size);
        }
        this.sum = new float[size];
        this.chunk = new float[Math.min(size, CHUNK)];
    }

    /** Number of parameters. */
    public int size() {
        return sum.length;
    }

    /** Number of micro-step gradients added since the last {@link #mean()} or {@link #reset()}. */
    public int microSteps() {
        return microSteps;
    }

    /**
     * Adds one micro-step's flat gradient.
     *
     * @throws IllegalArgumentException if it does not have {@link #size()} elements
     */
    public void add(float[] grads) {
        requireSize(grads.length);
        if (microSteps == 0) {
            System.arraycopy(grads, 0, sum, 0, sum.length);
        } else {
            addInto(sum, 0, grads, grads.length);
        }
        microSteps++;
    }

    /**
     * Adds one micro-step's flat gradient from a buffer, such as the direct buffer ONNX Runtime
     * writes gradients into. Reads the {@link #size()} elements from the buffer's position on;
     * the position does not move.
     *
     * @throws IllegalArgumentException if the buffer does not have {@link #size()} elements
     *     remaining
     */
    public void add(FloatBuffer grads) {
        requireSize(grads.remaining());
        int base = grads.position();
        if (microSteps == 0) {
            grads.get(base, sum, 0, sum.length);
        } else {
            for (int from = 0; from < sum.length; from += chunk.length) {
                int length = Math.min(chunk.length, sum.length - from);
                grads.get(base + from, chunk, 0, length);
                addInto(sum, from, chunk, length);
            }
        }
        microSteps++;
    }

    /**
     * Divides the sum by the number of micro-steps and returns it. The returned array is this
     * accumulator's own buffer: clip it and hand it to the optimizer before the next
     * {@link #add}, which starts a new accumulation and overwrites it.
     *
     * @throws IllegalStateException if nothing was added
     */
    public float[] mean() {
        if (microSteps == 0) {
            throw new IllegalStateException("no gradients were added since the last mean();"
                    + " run at least one micro-step first");
        }
        if (microSteps > 1) {
            float scale = 1f / microSteps;
            for (int i = 0; i < sum.length; i++) {
                sum[i] *= scale;
            }
        }
        microSteps = 0;
        return sum;
    }

    /** Drops what was added, e.g. when a step is abandoned; the next {@link #add} starts afresh. */
    public void reset() {
        microSteps = 0;
    }

    private static void addInto(float[] sum, int offset, float[] src, int length) {
        for (int i = 0; i < length; i++) {
            sum[offset + i] += src[i];
        }
    }

    private void requireSize(int length) {
        if (length != sum.length) {
            throw new IllegalArgumentException("gradient has " + length + " elements but the"
                    + " model has " + sum.length + " parameters");
        }
    }
}
