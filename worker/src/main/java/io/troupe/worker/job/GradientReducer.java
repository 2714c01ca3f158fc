package io.troupe.worker.job;

import java.nio.FloatBuffer;

/**
 * Averages a flat gradient buffer in place across all workers of a job (the ring all-reduce),
 * blocking until every element holds the mean. A single worker's reducer does nothing.
 */
public interface GradientReducer extends AutoCloseable {

    /**
     * @param gradients the whole flat buffer, position 0; replaced by the mean over workers
     * @param step the optimizer step, so frames of different steps are never mixed
     * @throws ReductionException when a peer fails, stalls past the deadline or sends garbage
     */
    void allReduceMean(FloatBuffer gradients, long step) throws ReductionException;

    /** Releases the reducer's connections; nothing by default. */
    @Override
    default void close() {
    }

    /** The reducer of a one-worker job. */
    GradientReducer LOCAL = new GradientReducer() {
        @Override
        public void allReduceMean(FloatBuffer gradients, long step) {
        }

        @Override
        public void close() {
        }
    };
}
