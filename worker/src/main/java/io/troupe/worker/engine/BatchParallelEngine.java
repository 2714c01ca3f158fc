package io.troupe.worker.engine;

import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
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
    /** Names of the int64 batch inputs, [rows, T] or [rows] each. */
    private final List<String> batchInputs;
    /** Values per row of each batch input: T for token rows, 1 for a per-row input such as a classifier's labels. */
    private final int[] widths;
    private final int rows;
    private final int seqLen;
    private final List<StepEngine> lanes = new ArrayList<>();
    private final int[] laneRows;
    private final LongBuffer[] full;
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
        this.batchInputs = List.copyOf(batchInputs);
        this.rows = rows;
        this.seqLen = seqLen;
        this.laneRows = new int[laneCount];
        EngineOptions laneOptions = laneCount == 1 ? options
                : options.withIntraOpThreads(1);
        try {
            for (int l = 0; l < laneCount; l++) {
                laneRows[l] = rows / laneCount + (l < rows % laneCount ? 1 : 0);
                lanes.add(StepEngine.create(graphForRows.build(l, laneRows[l]), layout, laneOptions));
            }
        } catch (RuntimeException e) {
            lanes.forEach(StepEngine::close);
            throw e;
        }
        this.full = new LongBuffer[batchInputs.size()];
        this.widths = new int[batchInputs.size()];
        for (int i = 0; i < full.length; i++) {
            // The lane graph's own input shape says how wide a row is: [rows, T] or [rows].
            widths[i] = lanes.get(0).batch(batchInputs.get(i)).remaining() / laneRows[0];
            full[i] = LongBuffer.allocate(rows * widths[i]);
        }
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
        int i = batchInputs.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no batch input named '" + name + "'; the graph takes " + batchInputs);
        }
        LongBuffer view = full[i].duplicate();
        view.clear();
        return view;
    }

    /** Copies the parameters into every lane's engine. */
    public void setParameters(float[] params) {
        for (StepEngine lane : lanes) {
            lane.parameterBuffer().copyFrom(params);
        }
    }

    /**
     * Runs the step on all lanes and writes the mean gradient over all rows into {@code gradients}.
     *
     * @return the mean loss over all rows
     */
    public double step(float[] gradients) throws EngineException {
        int firstRow = 0;
        for (int l = 0; l < lanes.size(); l++) {
            for (int i = 0; i < full.length; i++) {
                LongBuffer src = full[i].duplicate();
                src.position(firstRow * widths[i]).limit((firstRow + laneRows[l]) * widths[i]);
                lanes.get(l).batch(batchInputs.get(i)).put(src);
            }
            firstRow += laneRows[l];
        }
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
                losses[l] = await(running.get(l - 1));
            }
        }
        double loss = 0;
        for (int l = 0; l < lanes.size(); l++) {
            double weight = (double) laneRows[l] / rows;
            loss += weight * losses[l];
            FlatBuffer g = lanes.get(l).gradientBuffer();
            if (l == 0) {
                g.copyTo(gradients);
                if (lanes.size() > 1) {
                    scale(gradients, (float) weight);
                }
            } else {
                g.addTo(gradients, (float) weight);
            }
        }
        return loss;
    }

    private static void scale(float[] values, float factor) {
        for (int i = 0; i < values.length; i++) {
            values[i] *= factor;
        }
    }

    private static float await(Future<Float> future) throws EngineException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineException("interrupted while a lane ran its step", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof EngineException engine) {
                throw engine;
            }
            throw new EngineException("a lane failed: " + e.getCause(), e.getCause());
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
