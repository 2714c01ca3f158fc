package io.troupe.worker.run;

import static io.troupe.worker.run.TinyRun.settings;
import static io.troupe.worker.run.TinyRun.summary;
import static io.troupe.worker.run.TinyRun.train;
import static io.troupe.worker.run.TinyRun.trainer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.train.TrainingDivergedException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local runs follow the same non-finite rule as distributed ones: a step with a NaN loss is
 * skipped and counted (steps_skipped), and max_nonfinite_steps in a row stop the run with an
 * error naming the step, the last good checkpoint and the fix.
 */
class TrainerNonFiniteTest {

    @TempDir
    Path run;

    /** A 4-step run whose checkpoint of step 4 is then overwritten with NaN parameters. */
    private Path poisonedAtStepFour(Map<String, String> overrides) throws Exception {
        train(run, false, overrides);
        CheckpointStore store = new CheckpointStore(run, 3);
        Checkpoint c = store.latest(trainer(run, overrides).resumeIdentity()).orElseThrow();
        assertEquals(4, c.trainingStep());
        Arrays.fill(c.parameters(), Float.NaN);
        return store.save(c);
    }

    @Test
    void tooManyNonFiniteStepsInARowStopTheRunNamingTheStepAndTheCheckpoint() throws Exception {
        Path checkpoint = poisonedAtStepFour(settings("max_iters=4"));
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> train(run, true, settings("max_iters=8", "max_nonfinite_steps=2")));
        assertTrue(e.getMessage().contains("2 steps in a row up to step 6"), e.getMessage());
        assertTrue(e.getMessage().contains("step 4") && e.getMessage().contains(checkpoint.getParent().toString()),
                e.getMessage());
        assertTrue(e.getMessage().contains("lower learning_rate or raise warmup_iters"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void skippedStepsAreCountedInTheSummaryAcrossAResume() throws Exception {
        poisonedAtStepFour(settings("max_iters=4", "checkpoint_interval=2"));
        // Steps 5..8 are all skipped (NaN parameters stay NaN); the limit is not reached.
        train(run, true, settings("max_iters=6", "checkpoint_interval=2", "max_nonfinite_steps=10"));
        assertEquals(2, summary(run).get("steps_skipped").asLong());
        train(run, true, settings("max_iters=8", "checkpoint_interval=2", "max_nonfinite_steps=10"));
        assertEquals(4, summary(run).get("steps_skipped").asLong(), "the resumed run adds to the checkpoint's total");
    }

    @Test
    void aHealthyRunSkipsNothing() throws Exception {
        train(run, false, settings("max_iters=4"));
        assertEquals(0, summary(run).get("steps_skipped").asLong());
    }
}
