package io.troupe.ops.cli;

import io.troupe.worker.metrics.TensorBoardListener;
import io.troupe.worker.metrics.TroupeMetrics;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.run.TrainListeners;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;

/**
 * What watches a training run besides its progress output, fed by the same listener events:
 * the process's Prometheus metrics ({@link TroupeMetrics}), a TensorBoard event file in
 * {@code DIR/tb/} and the {@code --dashboard} page. {@code train} (local or embedded) and {@code coordinator} open one per run.
 */
final class RunMonitors implements AutoCloseable {
    private final TensorBoardListener tensorBoard;
    private final TrainListener dashboard;

    private RunMonitors(TensorBoardListener tensorBoard, TrainListener dashboard) {
        this.tensorBoard = tensorBoard;
        this.dashboard = dashboard;
    }

    /**
     * The monitors of a run in {@code runDir}; its TensorBoard file is created when training starts.
     *
     * @param dashboard the {@code --dashboard} page's listener ({@link TrainListener#SILENT} without one)
     */
    static RunMonitors open(Path runDir, long logInterval, TrainListener dashboard) {
        return new RunMonitors(new TensorBoardListener(runDir, logInterval, Clock.systemUTC()), dashboard);
    }

    /** {@code progress} followed by the monitors, as one listener. */
    TrainListener around(TrainListener progress) {
        return TrainListeners.of(progress, TroupeMetrics.process().trainListener(), tensorBoard, dashboard);
    }

    @Override
    public void close() {
        try {
            tensorBoard.close();
        } catch (IOException e) {
            throw UserError.io("cannot close the TensorBoard event file " + tensorBoard.file() + ": " + e.getMessage(), e);
        }
    }
}
