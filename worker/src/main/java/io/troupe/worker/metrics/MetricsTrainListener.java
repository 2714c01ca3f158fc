package io.troupe.worker.metrics;

import io.troupe.worker.run.TrainListener;
import java.nio.file.Path;

/**
 * Records what a training run reports to its {@link TrainListener} into {@link TroupeMetrics}:
 * the same events the console line, {@code --json} and metrics.jsonl are made from, so every
 * view shows the same numbers.
 */
public final class MetricsTrainListener implements TrainListener {
    private final TroupeMetrics metrics;

    MetricsTrainListener(TroupeMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void onStart(long firstStep, long lastStep, long parameters) {
        metrics.step.set(firstStep);
    }

    @Override
    public void onStep(StepStats s) {
        metrics.step.set(s.step());
        metrics.trainLoss.set(s.loss());
        metrics.learningRate.set(s.lr());
        metrics.gradNorm.set(s.gradNorm());
        metrics.stepSeconds.observe(s.stepMillis() / 1000);
        metrics.tokensPerSecond.set(s.tokensPerSecond());
        metrics.mfu.set(s.mfu());
        metrics.workers.set(s.workers());
        if (s.workers() > 1) {
            metrics.allreduceSeconds.observe(s.allreduceMillis() / 1000);
            metrics.allreduceBytes.inc(s.allreduceBytes());
            metrics.allreduceExposedSeconds.observe(s.allreduceExposedMillis() / 1000);
        }
    }

    @Override
    public void onEval(long step, double trainLoss, double valLoss) {
        metrics.valLoss.set(valLoss);
    }

    @Override
    public void onCheckpoint(long step, Path file, double seconds) {
        metrics.checkpointWritten(seconds);
    }

    @Override
    public void onRingFormed(int workers) {
        metrics.workers.set(workers);
    }

    @Override
    public void onWorkerFailure() {
        metrics.workerFailures.inc();
    }
}
