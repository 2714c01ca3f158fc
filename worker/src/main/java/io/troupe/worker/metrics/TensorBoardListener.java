package io.troupe.worker.metrics;

import io.troupe.worker.run.TrainListener;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a training run's scalars to a TensorBoard event file in {@code DIR/tb/}: on every
 * step metrics.jsonl logs (each {@code log_interval}-th and the last), {@code loss/train},
 * {@code lr}, {@code grad_norm}, {@code tokens_per_second} and {@code mfu}; on every evaluation
 * {@code loss/val} (and {@code loss/train_eval}, the train split's evaluation loss). A file
 * that cannot be created or written is logged once and ends the file, not the run.
 */
public final class TensorBoardListener implements TrainListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TensorBoardListener.class);

    private final Path runDir;
    private final long logInterval;
    private final Clock clock;
    private TensorBoardEvents events;
    private boolean failed;

    /**
     * A listener that writes a new event file in {@code runDir/tb/} once training starts (a run
     * refused before its first step leaves no file behind).
     */
    public TensorBoardListener(Path runDir, long logInterval, Clock clock) {
        this.runDir = runDir;
        this.logInterval = logInterval;
        this.clock = clock;
    }

    /** The event file written, or null before training started. */
    public Path file() {
        return events == null ? null : events.file();
    }

    @Override
    public void onStart(long firstStep, long lastStep, long parameters) {
        if (events != null || failed) {
            return;
        }
        try {
            events = TensorBoardEvents.create(runDir, clock);
        } catch (IOException e) {
            failed = true;
            LOG.warn("cannot create a TensorBoard event file in {} ({}); the run goes on without it",
                    runDir.resolve(TensorBoardEvents.DIRECTORY), e.getMessage());
        }
    }

    @Override
    public void onStep(StepStats s) {
        if (s.step() % logInterval != 0 && s.step() != s.lastStep()) {
            return;
        }
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("loss/train", s.loss());
        values.put("lr", s.lr());
        values.put("grad_norm", s.gradNorm());
        values.put("tokens_per_second", s.tokensPerSecond());
        values.put("mfu", s.mfu());
        write(s.step(), values);
    }

    @Override
    public void onEval(long step, double trainLoss, double valLoss) {
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("loss/val", valLoss);
        values.put("loss/train_eval", trainLoss);
        write(step, values);
    }

    private void write(long step, Map<String, Double> values) {
        if (failed || events == null) {
            return;
        }
        try {
            events.scalars(step, values);
        } catch (IOException e) {
            // A view of the run must not stop it: metrics.jsonl and checkpoints carry on.
            failed = true;
            LOG.warn("cannot write TensorBoard events to {} ({}); the run goes on without them", events.file(),
                    e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        if (events != null) {
            events.close();
        }
    }
}
