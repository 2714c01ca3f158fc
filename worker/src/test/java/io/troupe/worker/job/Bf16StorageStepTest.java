package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.train.Bf16Rounding;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A bf16-storage job's steps through the real graph: the parameters are bfloat16 values from the
 * start and after every update, the updates are not rounded away, two runs with the same seed
 * are bit-identical, a resume continues exactly, and the losses track fp32's.
 */
class Bf16StorageStepTest {
    private static WorkerJob job(String precision, Checkpoint resumeFrom) throws Exception {
        return PrecisionJobs.job(precision, Map.of(), resumeFrom);
    }

    private static ElasticShare share(long step) {
        return PrecisionJobs.share(step);
    }

    private static void assertBfloat16(float[] params, String when) {
        for (int i = 0; i < params.length; i++) {
            assertTrue(Bf16Rounding.representable(params[i]), when + ": parameter " + i + " = " + params[i]
                    + " is not a bfloat16 value");
        }
    }

    @Test
    void parametersStayBfloat16ValuesAndUpdatesAreNotRoundedAway() throws Exception {
        try (WorkerJob a = job("bf16-storage", null); WorkerJob b = job("bf16-storage", null)) {
            assertNull(a.lossScaler(), "bf16-storage needs no loss scaling: bfloat16 has float32's range");
            assertBfloat16(a.parameters(), "at the start");
            float[] start = a.parameters().clone();
            for (int s = 1; s <= 4; s++) {
                WorkerJob.StepResult r = a.step(s, 1e-3, share(s));
                b.step(s, 1e-3, share(s));
                assertFalse(r.skipped());
                assertBfloat16(a.parameters(), "after step " + s);
                assertArrayEquals(a.parameters(), b.parameters(), "the same seed rounds alike, step " + s);
            }
            // The LayerNorm gains start at 1.0, where a bfloat16 ulp is 2^-7 = 0.0078: an AdamW step
            // of lr 1e-3 is below half of it, so rounding to nearest would keep every gain at 1.0
            // for ever. Stochastic rounding moves each with probability ~1e-3 / 0.0078 per step.
            int gains = 0;
            int moved = 0;
            for (int i = 0; i < start.length; i++) {
                if (start[i] == 1f) {
                    gains++;
                    moved += a.parameters()[i] != 1f ? 1 : 0;
                }
            }
            assertTrue(gains >= 48, gains + " gains");
            assertTrue(moved >= 3, "only " + moved + " of " + gains + " LayerNorm gains moved in 4 steps:"
                    + " the updates were rounded away");
        }
    }

    @Test
    void aResumedRunRoundsAsTheUninterruptedOne() throws Exception {
        Checkpoint saved;
        float[] straight;
        try (WorkerJob job = job("bf16-storage", null)) {
            job.step(1, 1e-3, share(1));
            saved = job.checkpoint(1, "id", 1.0);
            job.step(2, 1e-3, share(2));
            straight = job.parameters().clone();
        }
        try (WorkerJob resumed = job("bf16-storage", saved)) {
            resumed.step(2, 1e-3, share(2));
            assertArrayEquals(straight, resumed.parameters());
        }
    }

    @Test
    void bf16StorageStepsTrackFp32Losses() throws Exception {
        double[] fp32 = new double[8];
        double[] bf16 = new double[8];
        try (WorkerJob a = job("fp32", null); WorkerJob b = job("bf16-storage", null)) {
            for (int s = 1; s <= 8; s++) {
                fp32[s - 1] = a.step(s, 1e-2, share(s)).loss();
                bf16[s - 1] = b.step(s, 1e-2, share(s)).loss();
            }
        }
        for (int s = 0; s < 8; s++) {
            assertEquals(fp32[s], bf16[s], 0.02 * fp32[s], "step " + (s + 1));
        }
    }
}
