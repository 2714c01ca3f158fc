package io.troupe.worker.train;

/**
 * nanoGPT's {@code get_lr}: linear warmup, cosine decay, then a floor.
 *
 * <ul>
 *   <li>{@code it < warmupIters}: {@code maxLr * (it + 1) / (warmupIters + 1)}, so step 0
 *       already moves and the last warmup step stays just below the peak;
 *   <li>{@code it > decayIters}: {@code minLr};
 *   <li>in between: {@code minLr + 0.5 * (1 + cos(pi * r)) * (maxLr - minLr)} with
 *       {@code r = (it - warmupIters) / (decayIters - warmupIters)}, which is {@code maxLr} at
 *       the end of warmup and {@code minLr} at {@code decayIters}.
 * </ul>
 *
 * <p>nanoGPT's {@code decay_lr = False} is {@link #constant(double)}.
 *
 * @param maxLr the peak learning rate ({@code learning_rate})
 * @param minLr the floor after decay ({@code min_lr})
 * @param warmupIters steps of linear warmup ({@code warmup_iters})
 * @param decayIters the step at which the cosine reaches {@code minLr} ({@code lr_decay_iters})
 */
public record LearningRateSchedule(double maxLr, double minLr, long warmupIters, long decayIters) {

    /**
     * @throws IllegalArgumentException if a rate is negative or not finite, {@code minLr}
     *     exceeds {@code maxLr}, or the iteration counts are negative or out of order
     */
    public LearningRateSchedule {
        if (!(Double.isFinite(maxLr) && maxLr >= 0 && Double.isFinite(minLr) && minLr >= 0)) {
            throw new IllegalArgumentException("learning_rate and min_lr must be finite and >= 0,"
                    + " got " + maxLr + " and " + minLr);
        }
        if (minLr > maxLr) {
            throw new IllegalArgumentException("min_lr " + minLr + " is above learning_rate "
                    + maxLr + "; the schedule decays from learning_rate down to min_lr");
        }
        if (warmupIters < 0 || decayIters < warmupIters) {
            throw new IllegalArgumentException("need 0 <= warmup_iters <= lr_decay_iters, got "
                    + warmupIters + " and " + decayIters);
        }
    }

    /** The same rate at every step. */
    public static LearningRateSchedule constant(double lr) {
        return new LearningRateSchedule(lr, lr, 0, 0);
    }

    /** The learning rate for iteration {@code it}, counted from 0. */
    public double at(long it) {
        if (it < warmupIters) {
            return maxLr * (it + 1) / (warmupIters + 1);
        }
        // nanoGPT divides by zero here when warmup and decay end together; the decay is then
        // over before it starts, so the floor is the only sensible value.
        if (it > decayIters || decayIters == warmupIters) {
            return minLr;
        }
        double ratio = (double) (it - warmupIters) / (decayIters - warmupIters);
        double coeff = 0.5 * (1.0 + Math.cos(Math.PI * ratio));
        return minLr + coeff * (maxLr - minLr);
    }
}
