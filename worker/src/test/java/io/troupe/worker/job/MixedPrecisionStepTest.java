package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.train.LossScaler;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An fp16 job's step through the real graph: an overflowed scaled gradient skips the update
 * (parameters and AdamW moments bit-identical) and halves the scale; a clean step updates.
 */
class MixedPrecisionStepTest {
    private static WorkerJob job(String precision) throws Exception {
        return job(precision, null);
    }

    private static WorkerJob job(String precision, Checkpoint resumeFrom) throws Exception {
        return PrecisionJobs.job(precision, Map.of("loss_scale_window", "2"), resumeFrom);
    }

    private static ElasticShare share(long step) {
        return PrecisionJobs.share(step);
    }

    @Test
    void anOverflowedStepLeavesWeightsAndMomentsBitIdenticalAndHalvesTheScale() throws Exception {
        try (WorkerJob job = job("fp16")) {
            // One clean step first, so the AdamW moments are not all zero.
            WorkerJob.StepResult first = job.step(1, 1e-3, share(1));
            assertFalse(first.skipped(), "a step at the initial scale 2^16 is clean on this model");
            Checkpoint before = job.checkpoint(1, "id", 1.0);
            // Inject an overflow: at 2^24 the float16 gradient of the logits, (softmax - onehot) / 64 * 2^24,
            // exceeds float16's largest value (65504) and becomes infinite.
            job.lossScaler().importState(new long[] {LossScaler.MAX_SCALE, 0, 0});
            WorkerJob.StepResult overflow = job.step(2, 1e-3, share(2));
            assertTrue(overflow.skipped(), "an infinite gradient skips the update");
            assertTrue(overflow.overflow(), "it is the scaler's overflow, not divergence");
            assertTrue(Double.isFinite(overflow.loss()), "the float32 loss is finite: " + overflow.loss());
            assertEquals(LossScaler.MAX_SCALE / 2, job.lossScaler().scale());
            assertEquals(1, job.lossScaler().overflows());
            Checkpoint after = job.checkpoint(1, "id", 1.0);
            assertArrayEquals(before.parameters(), after.parameters(), "weights unchanged");
            assertArrayEquals(before.adamM(), after.adamM(), "first moments unchanged");
            assertArrayEquals(before.adamV(), after.adamV(), "second moments unchanged");
            assertEquals(before.optimizerStep(), after.optimizerStep(), "AdamW's step count unchanged");
            // Back to a sane scale: the same batch trains.
            job.lossScaler().importState(new long[] {1 << 10, 0, 1});
            WorkerJob.StepResult clean = job.step(2, 1e-3, share(2));
            assertFalse(clean.skipped());
            assertFalse(java.util.Arrays.equals(before.parameters(), job.parameters()), "a clean step updates");
            job.step(3, 1e-3, share(3));
            assertEquals(1 << 11, job.lossScaler().scale(), "two clean steps (the window) double the scale");
        }
    }

    @Test
    void aCheckpointCarriesTheScalersStateIntoTheResumedJob() throws Exception {
        Checkpoint saved;
        try (WorkerJob job = job("fp16")) {
            job.step(1, 1e-3, share(1));
            job.lossScaler().importState(new long[] {1 << 12, 1, 5});
            saved = job.checkpoint(1, "id", 1.0);
        }
        try (WorkerJob resumed = job("fp16", saved)) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {1 << 12, 1, 5},
                    resumed.lossScaler().exportState());
        }
    }

    @Test
    void fp16StepsTrackFp32Losses() throws Exception {
        double[] fp32 = new double[5];
        double[] fp16 = new double[5];
        try (WorkerJob a = job("fp32"); WorkerJob b = job("fp16")) {
            assertNull(a.lossScaler(), "fp32 has no loss scaler");
            for (int s = 1; s <= 5; s++) {
                fp32[s - 1] = a.step(s, 1e-2, share(s)).loss();
                fp16[s - 1] = b.step(s, 1e-2, share(s)).loss();
            }
        }
        for (int s = 0; s < 5; s++) {
            assertEquals(fp32[s], fp16[s], 0.01 * fp32[s], "step " + (s + 1));
        }
    }
}
