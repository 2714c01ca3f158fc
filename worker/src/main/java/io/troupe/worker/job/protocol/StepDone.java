package io.troupe.worker.job.protocol;

import io.troupe.worker.bert.MaskedTokens;
import java.util.Optional;

/**
 * Worker to coordinator: a step finished here: loss, the global gradient norm, timings, the
 * samples used, evaluation losses when asked, a parameter checksum when asked; {@code skipped}
 * when the reduced gradient was not finite and no update was applied; {@code valMasked}, when an
 * MLM encoder evaluated, its masked-token hits over this worker's val batches (empty for a GPT,
 * without an evaluation, and from a worker that predates the field); {@code allreduceExposedMs},
 * the part of {@code allreduceMs} not hidden behind the backward pass (all of it without
 * {@code overlap_allreduce}).
 */
public record StepDone(
        String jobId, int rank, long step, double loss, double gradNorm, long paramChecksum,
        double trainEvalLoss, double valEvalLoss, int evalBatches, double computeMs, double allreduceMs,
        long generation, long sampleFrom, int rows, boolean skipped, Optional<MaskedTokens> valMasked,
        double allreduceExposedMs)
        implements JobMessage {

    public StepDone {
        valMasked = valMasked == null ? Optional.empty() : valMasked;
    }

    /** A report whose all-reduce was all exposed (no overlap with the backward pass). */
    public StepDone(String jobId, int rank, long step, double loss, double gradNorm, long paramChecksum,
            double trainEvalLoss, double valEvalLoss, int evalBatches, double computeMs, double allreduceMs,
            long generation, long sampleFrom, int rows, boolean skipped, Optional<MaskedTokens> valMasked) {
        this(jobId, rank, step, loss, gradNorm, paramChecksum, trainEvalLoss, valEvalLoss, evalBatches, computeMs,
                allreduceMs, generation, sampleFrom, rows, skipped, valMasked, allreduceMs);
    }

    /** A report without masked-token counts: a GPT's, or a step that did not evaluate. */
    public StepDone(String jobId, int rank, long step, double loss, double gradNorm, long paramChecksum,
            double trainEvalLoss, double valEvalLoss, int evalBatches, double computeMs, double allreduceMs,
            long generation, long sampleFrom, int rows, boolean skipped) {
        this(jobId, rank, step, loss, gradNorm, paramChecksum, trainEvalLoss, valEvalLoss, evalBatches, computeMs,
                allreduceMs, generation, sampleFrom, rows, skipped, Optional.empty());
    }
}
