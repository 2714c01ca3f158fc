package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NonFiniteStepsTest {

    @Test
    void onlyTheLimitInARowStopsTheRunAndAGoodStepResetsTheRun() {
        NonFiniteSteps policy = new NonFiniteSteps(3, 0);
        assertFalse(policy.record(true));
        assertFalse(policy.record(true));
        assertFalse(policy.record(false)); // a good step: the row starts over
        assertEquals(0, policy.inARow());
        assertFalse(policy.record(true));
        assertFalse(policy.record(true));
        assertTrue(policy.record(true));
        assertEquals(5, policy.skipped());
        assertEquals(3, policy.inARow());
    }

    @Test
    void aResumedRunKeepsCountingFromItsTotal() {
        NonFiniteSteps policy = new NonFiniteSteps(1, 4);
        assertFalse(policy.record(false));
        assertTrue(policy.record(true));
        assertEquals(5, policy.skipped());
    }

    @Test
    void theMessageNamesTheStepTheCheckpointAndTheFix() {
        NonFiniteSteps policy = new NonFiniteSteps(2, 0);
        policy.record(true);
        policy.record(true);
        String message = policy.divergedMessage(17, "run/checkpoints/ckpt-000010.bin");
        assertTrue(message.contains("2 steps in a row up to step 17"), message);
        assertTrue(message.contains("run/checkpoints/ckpt-000010.bin"), message);
        assertTrue(message.contains("lower learning_rate or raise warmup_iters"), message);
        assertFalse(message.contains("\n"));
    }

    @Test
    void theLimitComesFromTheSettingsAndMustBePositive() {
        assertEquals(3, TrainSettings.load(null, java.util.Map.of()).maxNonfiniteSteps());
        NonFiniteSteps one = NonFiniteSteps.of(TrainSettings.load(null, java.util.Map.of("max_nonfinite_steps", "1")));
        assertTrue(one.record(true));
        assertThrows(SettingsException.class,
                () -> TrainSettings.load(null, java.util.Map.of("max_nonfinite_steps", "0")));
        assertThrows(IllegalArgumentException.class, () -> new NonFiniteSteps(0, 0));
    }
}
