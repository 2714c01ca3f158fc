package io.troupe.worker.job.protocol;

/**
 * Worker to coordinator: a step finished here: loss, the global gradient norm, timings, the
 * samples used, evaluation losses when asked, a parameter checksum when asked; {@code skipped}
 * when the reduced gradient was not finite and no update was applied.
 */
public record StepDone(
        String jobId, int rank, long step, double loss, double gradNorm, long paramChecksum,
        double trainEvalLoss, double valEvalLoss, int evalBatches, double computeMs, double allreduceMs,
        long generation, long sampleFrom, int rows, boolean skipped) implements JobMessage {
}
