package io.troupe.worker.engine;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A {@link BatchParallelEngine} whose training graph is cut into stages (forward and the backward
 * pass of the last blocks, then the backward pass bucket by bucket): the lanes run their stages on
 * their own threads, and the caller gets each stage's gradients, combined over the lanes exactly
 * as {@link BatchParallelEngine#step} combines them, as soon as every lane finished that stage,
 * while the lanes go on with the next. That is what lets the all-reduce of one bucket overlap the
 * backward pass of the next.
 */
public final class StagedBatchEngine implements AutoCloseable {
    private final List<StagedLane> lanes = new ArrayList<>();
    /** The step's [rows, T] batch inputs and their split over the lanes. */
    private final LaneBatch batch;
    private final ExecutorService pool;
    /** Per stage, the {offset, length} of each parameter whose gradient it completes. */
    private final List<int[][]> stageRanges;
    /** System.nanoTime() when the last lane finished the last stage of the last step. */
    private volatile long lastComputeEndNanos;

    /**
     * One stage of a lane's training graph.
     *
     * @param graph the serialized stage graph
     * @param gradients the names of the parameters whose gradients this stage completes
     */
    public record Stage(byte[] graph, List<String> gradients) {
        public Stage {
            gradients = List.copyOf(gradients);
        }
    }

    /** Builds one lane's stages; every lane must complete the same gradients in the same stages. */
    @FunctionalInterface
    public interface LaneStages {
        /**
         * @param lane the lane's index (lanes may seed their Dropout nodes apart)
         * @param rows the lane's batch rows
         */
        List<Stage> build(int lane, int rows);
    }

    /** What the caller does with a stage's gradients while the lanes run the next stage. */
    @FunctionalInterface
    public interface StageSink<E extends Exception> {
        /**
         * @param stage the stage, from 0
         * @param ranges {offset, length} in the flat gradient of each parameter the stage completed
         * @param loss the step's mean loss over all rows (known from stage 0 on)
         */
        void stageDone(int stage, int[][] ranges, double loss) throws E;
    }

    /**
     * @param batchInputs the graph's int64 [rows, seqLen] inputs
     * @param lanes lane count: min(lanes, rows) single-threaded lanes when above 1, else one lane
     *     with all of the options' intra-op threads
     */
    public static StagedBatchEngine create(LaneStages stagesForRows, FlatLayout layout, EngineOptions options,
                                           int rows, int seqLen, List<String> batchInputs, int lanes)
            throws EngineException {
        if (lanes < 1) {
            throw new IllegalArgumentException("lanes must be >= 1, got " + lanes);
        }
        return new StagedBatchEngine(stagesForRows, layout, options, rows, seqLen, batchInputs, Math.min(lanes, rows));
    }

    private StagedBatchEngine(LaneStages stagesForRows, FlatLayout layout, EngineOptions options, int rows,
                              int seqLen, List<String> batchInputs, int laneCount) throws EngineException {
        int[] laneRows = LaneBatch.split(rows, laneCount);
        this.stageRanges = new ArrayList<>();
        EngineOptions laneOptions = laneCount == 1 ? options : options.withIntraOpThreads(1);
        List<List<String>> firstLaneGradients = null;
        try {
            for (int l = 0; l < laneCount; l++) {
                Map<String, long[]> shapes = new LinkedHashMap<>();
                for (String name : batchInputs) {
                    shapes.put(name, new long[] {laneRows[l], seqLen});
                }
                List<Stage> stages = stagesForRows.build(l, laneRows[l]);
                List<List<String>> gradients = stages.stream().map(Stage::gradients).toList();
                if (firstLaneGradients == null) {
                    firstLaneGradients = gradients;
                } else if (!gradients.equals(firstLaneGradients)) {
                    throw new IllegalArgumentException("lane " + l + "'s stages complete other gradients than lane 0's");
                }
                lanes.add(new StagedLane(stages.stream().map(Stage::graph).toList(), layout, laneOptions, shapes));
            }
        } catch (RuntimeException e) {
            lanes.forEach(StagedLane::close);
            throw e;
        }
        for (List<String> names : firstLaneGradients) {
            int[][] ranges = new int[names.size()][];
            for (int i = 0; i < ranges.length; i++) {
                ParamView v = layout.view(names.get(i));
                ranges[i] = new int[] {(int) v.offset(), (int) v.numel()};
            }
            stageRanges.add(ranges);
        }
        int[] widths = new int[batchInputs.size()];
        Arrays.fill(widths, seqLen);
        this.batch = new LaneBatch(batchInputs, laneRows, widths);
        // Every lane runs on a pool thread: the caller's thread is free to all-reduce meanwhile.
        this.pool = Executors.newFixedThreadPool(laneCount, r -> {
            Thread t = new Thread(r, "troupe-stage-lane");
            t.setDaemon(true);
            return t;
        });
    }

    /** When the last step's compute ended: the last lane's last stage (System.nanoTime()). */
    public long lastComputeEndNanos() {
        return lastComputeEndNanos;
    }

    public int lanes() {
        return lanes.size();
    }

    public int stages() {
        return stageRanges.size();
    }

    /** {offset, length} of each parameter whose gradient stage {@code s} completes. */
    public int[][] ranges(int s) {
        return stageRanges.get(s);
    }

    /** The full [rows * T] buffer of batch input {@code name}, to fill before {@link #step}. */
    public LongBuffer batch(String name) {
        return batch.input(name);
    }

    /** Copies the parameters into every lane. */
    public void setParameters(float[] params) {
        for (StagedLane lane : lanes) {
            lane.parameterBuffer().copyFrom(params);
        }
    }

    /**
     * Runs the step and writes the mean gradient over all rows into {@code gradients}, stage by
     * stage; after stage s is in, {@code sink} is called with its ranges (on this thread) while
     * the lanes run on. The gradients equal {@link BatchParallelEngine#step}'s bit for bit.
     *
     * @return the mean loss over all rows
     * @param sink called after each stage, or null
     * @throws EngineException if a stage fails
     * @throws E the sink's failure, after every lane has stopped
     */
    public <E extends Exception> double step(float[] gradients, StageSink<E> sink) throws EngineException, E {
        batch.scatter((lane, name) -> lanes.get(lane).batch(name));
        int stageCount = stageRanges.size();
        List<List<CompletableFuture<Float>>> done = new ArrayList<>();
        List<CompletableFuture<Void>> finished = new ArrayList<>();
        long[] laneEnds = new long[lanes.size()];
        for (StagedLane lane : lanes) {
            List<CompletableFuture<Float>> perStage = new ArrayList<>();
            for (int s = 0; s < stageCount; s++) {
                perStage.add(new CompletableFuture<>());
            }
            done.add(perStage);
            int index = done.size() - 1;
            finished.add(CompletableFuture.runAsync(() -> runLane(lane, perStage, laneEnds, index), pool));
        }
        try {
            double loss = 0;
            for (int s = 0; s < stageCount; s++) {
                for (int l = 0; l < lanes.size(); l++) {
                    float laneLoss = LaneBatch.await(done.get(l).get(s), "stage");
                    if (s == 0) {
                        loss += batch.weight(l) * laneLoss;
                    }
                }
                combine(stageRanges.get(s), gradients);
                if (s == stageCount - 1) {
                    lastComputeEndNanos = Arrays.stream(laneEnds).max().orElse(System.nanoTime());
                }
                if (sink != null) {
                    sink.stageDone(s, stageRanges.get(s), loss);
                }
            }
            return loss;
        } finally {
            for (CompletableFuture<Void> f : finished) {
                try {
                    f.join();
                } catch (RuntimeException ignored) {
                    // the stage futures carry the failure
                }
            }
        }
    }

    private static void runLane(StagedLane lane, List<CompletableFuture<Float>> perStage, long[] ends, int index) {
        try {
            for (int s = 0; s < perStage.size(); s++) {
                float loss = lane.run(s);
                if (s == perStage.size() - 1) {
                    ends[index] = System.nanoTime(); // written before the completion that publishes it
                }
                perStage.get(s).complete(loss);
            }
        } catch (RuntimeException e) {
            perStage.forEach(f -> f.completeExceptionally(e));
        } finally {
            lane.release();
        }
    }

    /** The lanes' row-weighted mean of the ranges, in BatchParallelEngine's order of operations. */
    private void combine(int[][] ranges, float[] gradients) {
        int count = lanes.size();
        for (int l = 0; l < count; l++) {
            FloatBuffer g = lanes.get(l).gradientBuffer().floats();
            float weight = (float) batch.weight(l);
            for (int[] r : ranges) {
                int end = r[0] + r[1];
                if (l == 0) {
                    g.get(r[0], gradients, r[0], r[1]);
                    if (count > 1) {
                        for (int i = r[0]; i < end; i++) {
                            gradients[i] *= weight;
                        }
                    }
                } else {
                    for (int i = r[0]; i < end; i++) {
                        gradients[i] += weight * g.get(i);
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
        lanes.forEach(StagedLane::close);
    }
}
