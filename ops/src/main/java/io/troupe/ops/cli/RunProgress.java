package io.troupe.ops.cli;

import io.troupe.worker.run.TrainListener;
import java.io.PrintWriter;

/** A training run's progress as the user asked for it: text (a bar on a terminal) or JSON lines. */
interface RunProgress extends TrainListener, AutoCloseable {

    @Override
    void close();

    /** JSON lines with {@code --json}; else a progress bar on a terminal, log lines otherwise. */
    static RunProgress of(PrintWriter out, boolean json, long logInterval) {
        return json ? new JsonTrainProgress(out, logInterval)
                : new TrainProgress(out, System.console() != null, logInterval);
    }
}
