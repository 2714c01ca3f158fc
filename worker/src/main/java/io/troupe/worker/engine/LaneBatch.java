package io.troupe.worker.engine;

import java.nio.LongBuffer;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.BiFunction;

/**
 * The int64 batch inputs of one step, filled whole by the caller and split row-wise over the
 * lanes of {@link BatchParallelEngine} and {@link StagedBatchEngine}: lane l takes the next
 * {@code rows(l)} rows, the first {@code rows % lanes} lanes one row more than the rest.
 */
final class LaneBatch {
    /** Names of the batch inputs, [rows, width] each. */
    private final List<String> inputs;
    /** Values per row of each input: T for token rows, 1 for a per-row input such as a label. */
    private final int[] widths;
    private final int[] laneRows;
    private final int rows;
    /** Per input, the whole batch: [rows * width]. */
    private final LongBuffer[] full;

    /**
     * @param laneRows rows per lane, from {@link #split}
     * @param widths values per row of each input, in the order of {@code inputs}
     */
    LaneBatch(List<String> inputs, int[] laneRows, int[] widths) {
        this.inputs = List.copyOf(inputs);
        this.laneRows = laneRows.clone();
        this.widths = widths.clone();
        this.rows = java.util.Arrays.stream(laneRows).sum();
        this.full = new LongBuffer[inputs.size()];
        for (int i = 0; i < full.length; i++) {
            full[i] = LongBuffer.allocate(rows * widths[i]);
        }
    }

    /** Rows per lane when {@code rows} are shared by {@code lanes} lanes as evenly as possible. */
    static int[] split(int rows, int lanes) {
        int[] split = new int[lanes];
        for (int l = 0; l < lanes; l++) {
            split[l] = rows / lanes + (l < rows % lanes ? 1 : 0);
        }
        return split;
    }

    int rows() {
        return rows;
    }

    int rows(int lane) {
        return laneRows[lane];
    }

    /** Lane l's share of a mean over all rows: its rows over all rows. */
    double weight(int lane) {
        return (double) laneRows[lane] / rows;
    }

    /** The whole [rows * width] buffer of input {@code name}, cleared, to fill before a step. */
    LongBuffer input(String name) {
        int i = inputs.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no batch input named '" + name + "'; the graph takes " + inputs);
        }
        LongBuffer view = full[i].duplicate();
        view.clear();
        return view;
    }

    /** Copies each lane's rows of every input into that lane's buffer: {@code laneInput(lane, name)}. */
    void scatter(BiFunction<Integer, String, LongBuffer> laneInput) {
        int firstRow = 0;
        for (int l = 0; l < laneRows.length; l++) {
            for (int i = 0; i < full.length; i++) {
                LongBuffer src = full[i].duplicate();
                src.position(firstRow * widths[i]).limit((firstRow + laneRows[l]) * widths[i]);
                laneInput.apply(l, inputs.get(i)).put(src);
            }
            firstRow += laneRows[l];
        }
    }

    /** A lane's result, with its failure rethrown as the {@link EngineException} it was. */
    static <T> T await(Future<T> future, String what) throws EngineException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineException("interrupted while a lane ran its " + what, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof EngineException engine) {
                throw engine;
            }
            throw new EngineException("a lane failed: " + e.getCause(), e.getCause());
        }
    }
}
