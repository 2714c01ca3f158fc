package io.troupe.worker.engine;

import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One training step of a batch split row-wise over several single-threaded sessions ("lanes")
 * that run at the same time, instead of one session with several intra-op threads.
 *
 * <p>Why: a GPT step is hundreds of small ops; ORT's intra-op pool synchronises its threads
 * inside every op, and on 2 cores that costs more than it gains (docs/BENCHMARKS.md). Lanes
 * only meet once per step. The result is the same step: the loss and gradient are the
 * row-weighted means of the lanes' (each lane computes a mean over its rows), equal to one
 * session's up to float summation order.
 *
 * <p>With one lane this is a plain {@link StepEngine} with the caller's thread count.
 */
public final class BatchParallelEngine implements AutoCloseable {
    private final List<StepEngine> lanes = new ArrayList<>();
    /** The step's batch inputs, [rows, T] or [rows] each, and their split over the lanes. */
    private final LaneBatch batch;
    private final ExecutorService pool;

    /** Builds the serialized training graph of one lane. */
    @FunctionalInterface
    public interface LaneGraph {
        /**
         * @param lane the lane's index (lanes may seed their Dropout nodes apart)
         * @param rows the lane's batch rows
         */
        byte[] build(int lane, int rows);
    }

    /**
     * @param graphForRows builds each lane's training graph
     * @param options thread count T: min(T, rows) lanes of one thread each when T > 1
     * @param batchInputs the graph's int64 [rows, seqLen] (or [rows]) inputs, e.g. "idx", "targets"
     */
    public static BatchParallelEngine create(LaneGraph graphForRows, FlatLayout layout, EngineOptions options,
                                             int rows, int seqLen, List<String> batchInputs) throws EngineException {
        return create(graphForRows, layout, options, rows, seqLen, batchInputs, options.intraOpThreads());
    }

    /**
     * Like {@link #create(LaneGraph, FlatLayout, EngineOptions, int, int, List)} with an explicit lane
     * count; 1 lane runs one session with all of the options' intra-op threads (for comparison).
     */
    public static BatchParallelEngine create(LaneGraph graphForRows, FlatLayout layout, EngineOptions options,
                                             int rows, int seqLen, List<String> batchInputs, int lanes)
            throws EngineException {
        if (lanes < 1) {
            throw new IllegalArgumentException("lanes must be >= 1, got " + lanes);
        }
        int laneCount = Math.min(lanes, rows);
        return new BatchParallelEngine(graphForRows, layout, options, rows, seqLen, batchInputs, laneCount);
    }

    private BatchParallelEngine(LaneGraph graphForRows, FlatLayout layout, EngineOptions options, int rows,
                                int seqLen, List<String> batchInputs, int laneCount) throws EngineException {
        int[] laneRows = LaneBatch.split(rows, laneCount);
        EngineOptions laneOptions = laneCount == 1 ? options
                : options.withIntraOpThreads(1);
        try {
            for (int l = 0; l < laneCount; l++) {
                lanes.add(StepEngine.create(graphForRows.build(l, laneRows[l]), layout, laneOptions));
            }
        } catch (RuntimeException e) {
            lanes.forEach(StepEngine::close);
            throw e;
        }
        int[] widths = new int[batchInputs.size()];
        for (int i = 0; i < widths.length; i++) {
            // The lane graph's own input shape says how wide a row is: [rows, T] or [rows].
            widths[i] = lanes.get(0).batch(batchInputs.get(i)).remaining() / laneRows[0];
        }
        this.batch = new LaneBatch(batchInputs, laneRows, widths);
        this.pool = laneCount == 1 ? null : Executors.newFixedThreadPool(laneCount - 1, r -> {
            Thread t = new Thread(r, "troupe-lane");
            t.setDaemon(true);
            return t;
        });
    }

    /** Number of lanes (sessions) a step runs on. */
    public int lanes() {
        return lanes.size();
    }

    /** The full [rows * T] (or [rows]) buffer of batch input {@code name}, to fill before {@link #step}. */
    public LongBuffer batch(String name) {
        return batch.input(name);
    }

    /** Copies the parameters into every lane's engine. */
    public void setParameters(float[] params) {
        for (StepEngine lane : lanes) {
            lane.parameterBuffer().copyFrom(params);
        }
    }

    /** Rows of each lane, in lane order (lane l holds the batch's rows after those of lanes 0..l-1). */
    public int[] laneRows() {
        int[] rows = new int[lanes.size()];
        for (int l = 0; l < rows.length; l++) {
            rows[l] = batch.rows(l);
        }
        return rows;
    }

    /**
     * Runs the step on all lanes and writes the mean gradient over all rows into {@code gradients}.
     *
     * @return the mean loss over all rows
     */
    public double step(float[] gradients) throws EngineException {
        double[] weights = new double[lanes.size()];
        for (int l = 0; l < weights.length; l++) {
            weights[l] = batch.weight(l);
        }
        return step(gradients, weights);
    }

    /**
     * Runs the step on all lanes and writes {@code sum_l weights[l] * gradient_l} into
     * {@code gradients}: for a loss that is a mean over something other than rows (a seq2seq
     * lane's mean over its real target tokens), the caller weighs each lane by its share of
     * that. A lane of weight 0 (rows with nothing to predict, whose mean is 0/0) is run but
     * left out entirely, so its NaN does not reach the sum; if every lane is 0 the gradient is 0.
     *
     * @return {@code sum_l weights[l] * loss_l}
     */
    public double step(float[] gradients, double[] weights) throws EngineException {
        if (weights.length != lanes.size()) {
            throw new IllegalArgumentException(weights.length + " lane weights for " + lanes.size() + " lanes");
        }
        float[] losses = runLanes();
        double loss = 0;
        boolean written = false;
        for (int l = 0; l < lanes.size(); l++) {
            double weight = weights[l];
            if (weight == 0) {
                continue;
            }
            loss += weight * losses[l];
            FlatBuffer g = lanes.get(l).gradientBuffer();
            if (!written) {
                g.copyTo(gradients);
                if (weight != 1) {
                    scale(gradients, (float) weight);
                }
                written = true;
            } else {
                g.addTo(gradients, (float) weight);
            }
        }
        if (!written) {
            java.util.Arrays.fill(gradients, 0f);
        }
        return loss;
    }

    /** Scatters the batch, runs every lane (lane 0 on the caller's thread) and returns their losses. */
    private float[] runLanes() throws EngineException {
        batch.scatter((lane, name) -> lanes.get(lane).batch(name));
        float[] losses = new float[lanes.size()];
        if (lanes.size() == 1) {
            losses[0] = lanes.get(0).step();
        } else {
            List<Future<Float>> running = new ArrayList<>();
            for (int l = 1; l < lanes.size(); l++) {
                StepEngine lane = lanes.get(l);
                running.add(pool.submit(lane::step));
            }
            losses[0] = lanes.get(0).step();
            for (int l = 1; l < lanes.size(); l++) {
                losses[l] = LaneBatch.await(running.get(l - 1), "step");
            }
        }
        return losses;
    }

    private static void scale(float[] values, float factor) {
        for (int i = 0; i < values.length; i++) {
            values[i] *= factor;
        }
    }

    /** Ends ORT profiling on the first lane. */
    public java.nio.file.Path endProfiling() throws EngineException {
        return lanes.get(0).endProfiling();
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
        lanes.forEach(StepEngine::close);
    }
}
