package io.troupe.worker.run;

/** The outcome of a training run, written to {@code summary.json}. */
public record TrainSummary(long steps, double finalTrainLoss, double finalValLoss, double bestValLoss,
                           double tokensPerSecond, double wallSeconds, long parameters) {
}
