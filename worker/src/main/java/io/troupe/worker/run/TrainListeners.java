package io.troupe.worker.run;

import java.nio.file.Path;
import java.util.List;

/** Several {@link TrainListener}s as one: each event goes to each, in order. */
public final class TrainListeners implements TrainListener {
    private final List<TrainListener> listeners;

    private TrainListeners(List<TrainListener> listeners) {
        this.listeners = listeners;
    }

    /** The listeners as one; a stop is requested when any of them requests it. */
    public static TrainListener of(TrainListener... listeners) {
        return new TrainListeners(List.of(listeners));
    }

    @Override
    public void onStart(long firstStep, long lastStep, long parameters) {
        listeners.forEach(l -> l.onStart(firstStep, lastStep, parameters));
    }

    @Override
    public void onStep(StepStats stats) {
        listeners.forEach(l -> l.onStep(stats));
    }

    @Override
    public void onEval(long step, double trainLoss, double valLoss) {
        listeners.forEach(l -> l.onEval(step, trainLoss, valLoss));
    }

    @Override
    public void onMaskedAccuracy(long step, double valAccuracy) {
        listeners.forEach(l -> l.onMaskedAccuracy(step, valAccuracy));
    }

    @Override
    public boolean stopRequested() {
        boolean stop = false;
        for (TrainListener l : listeners) {
            stop |= l.stopRequested();
        }
        return stop;
    }

    @Override
    public void onCheckpoint(long step, Path file) {
        listeners.forEach(l -> l.onCheckpoint(step, file));
    }

    @Override
    public void onCheckpoint(long step, Path file, double seconds) {
        listeners.forEach(l -> l.onCheckpoint(step, file, seconds));
    }

    @Override
    public void onRingFormed(int workers) {
        listeners.forEach(l -> l.onRingFormed(workers));
    }

    @Override
    public void onWorkerFailure() {
        listeners.forEach(l -> l.onWorkerFailure());
    }
}
