package io.troupe.worker.train;

/**
 * DiLoCo's outer optimizer: SGD with Nesterov momentum on the pseudo-gradient, the averaged
 * change {@code outer - local} of the workers' parameters over one round of inner steps. The
 * update is PyTorch's {@code SGD(nesterov=True)} without dampening or weight decay:
 *
 * <pre>
 *   b     = mu * b + g
 *   outer = outer - lr * (g + mu * b)
 * </pre>
 *
 * The momentum {@code b} is part of a DiLoCo run's state: checkpoints keep it, and a joining
 * worker receives it with the outer parameters.
 */
public final class OuterNesterov {
    private final double lr;
    private final double momentum;
    private final float[] buffer;

    /** A fresh optimizer (zero momentum) for {@code size} parameters. */
    public OuterNesterov(int size, double lr, double momentum) {
        if (!(lr > 0) || !(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("outer lr must be > 0 and momentum in [0, 1), got " + lr + " and "
                    + momentum);
        }
        this.lr = lr;
        this.momentum = momentum;
        this.buffer = new float[size];
    }

    /**
     * One outer step in place.
     *
     * @param outer the outer parameters, updated
     * @param pseudoGradient the averaged {@code outer - local}, one per parameter
     */
    public void step(float[] outer, float[] pseudoGradient) {
        if (outer.length != buffer.length || pseudoGradient.length != buffer.length) {
            throw new IllegalArgumentException("outer step over " + buffer.length + " parameters got " + outer.length
                    + " parameters and " + pseudoGradient.length + " pseudo-gradients");
        }
        for (int i = 0; i < outer.length; i++) {
            float g = pseudoGradient[i];
            float b = (float) (momentum * buffer[i] + g);
            buffer[i] = b;
            outer[i] = (float) (outer[i] - lr * (g + momentum * b));
        }
    }

    /** The momentum buffer; do not modify. */
    public float[] momentum() {
        return buffer;
    }

    /** Replaces the momentum buffer (a checkpoint's or a peer's). */
    public void restore(float[] momentumBuffer) {
        if (momentumBuffer.length != buffer.length) {
            throw new IllegalArgumentException("the outer momentum has " + momentumBuffer.length
                    + " elements but the model has " + buffer.length + " parameters");
        }
        System.arraycopy(momentumBuffer, 0, buffer, 0, buffer.length);
    }

    /** Zero momentum (a state that holds none: the start of a run). */
    public void reset() {
        java.util.Arrays.fill(buffer, 0f);
    }
}
