package io.troupe.coordinator;

import io.troupe.worker.run.TrainSummary;

/** How a job ended: its summary, or the one-line reason it failed. */
public record JobOutcome(TrainSummary summary, String failure) {
    public boolean succeeded() {
        return failure == null;
    }
}
