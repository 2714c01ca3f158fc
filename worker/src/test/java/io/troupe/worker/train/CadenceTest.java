package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class CadenceTest {
    @Test
    void evaluatesOnTheIntervalAndAtTheLastStep() {
        Cadence c = new Cadence(10, 5, 0, 23);
        assertEquals(java.util.List.of(10L, 20L, 23L), LongStream.rangeClosed(1, 23).filter(c::evaluates).boxed().toList());
    }

    @Test
    void logsOnItsIntervalAndOnEveryEvaluation() {
        Cadence c = new Cadence(10, 4, 0, 23);
        assertEquals(java.util.List.of(4L, 8L, 10L, 12L, 16L, 20L, 23L),
                LongStream.rangeClosed(1, 23).filter(c::logs).boxed().toList());
    }

    @Test
    void checkpointsFollowEvaluationWhenTheirIntervalIsZero() {
        Cadence c = new Cadence(10, 1, 0, 23);
        for (long s = 1; s <= 23; s++) {
            assertEquals(c.evaluates(s), c.checkpoints(s), "step " + s);
        }
    }

    @Test
    void checkpointsOnTheirOwnIntervalAndAtTheLastStep() {
        Cadence c = new Cadence(10, 1, 7, 23);
        assertEquals(java.util.List.of(7L, 14L, 21L, 23L),
                LongStream.rangeClosed(1, 23).filter(c::checkpoints).boxed().toList());
        assertFalse(c.checkpoints(10));
        assertTrue(c.evaluates(10));
    }

    @Test
    void refusesNonPositiveIntervals() {
        assertThrows(IllegalArgumentException.class, () -> new Cadence(0, 1, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> new Cadence(1, 1, -1, 10));
    }
}
