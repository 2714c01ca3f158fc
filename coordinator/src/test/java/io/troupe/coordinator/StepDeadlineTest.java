package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StepDeadlineTest {
    private static final Duration CAP = Duration.ofSeconds(120);

    @Test
    void itIsTheStepTimeoutUntilEnoughStepsAreMeasured() {
        StepDeadline d = new StepDeadline(20, Duration.ofSeconds(10), CAP);
        for (int i = 0; i < StepDeadline.WARM_UP - 1; i++) {
            d.record(Duration.ofSeconds(1));
            assertEquals(CAP, d.next(true));
        }
        d.record(Duration.ofSeconds(1));
        assertEquals(Duration.ofSeconds(20), d.next(true), "20x the typical 1 s step");
    }

    @Test
    void itFollowsTheMedianSoOneSlowStepDoesNotMoveIt() {
        StepDeadline d = new StepDeadline(10, Duration.ZERO, CAP);
        for (int i = 0; i < 9; i++) {
            d.record(Duration.ofMillis(100));
        }
        d.record(Duration.ofSeconds(50)); // a step that waited on a slow disk
        assertEquals(Duration.ofMillis(100), d.typical());
        assertEquals(Duration.ofSeconds(1), d.next(true));
        // The window moves on: a job whose steps became slower (fewer workers) gets a longer deadline.
        for (int i = 0; i < StepDeadline.WINDOW; i++) {
            d.record(Duration.ofMillis(300));
        }
        assertEquals(Duration.ofSeconds(3), d.next(true));
    }

    @Test
    void itStaysBetweenTheFloorAndTheStepTimeout() {
        StepDeadline fast = new StepDeadline(20, Duration.ofSeconds(10), CAP);
        StepDeadline slow = new StepDeadline(20, Duration.ofSeconds(10), CAP);
        for (int i = 0; i < StepDeadline.WARM_UP; i++) {
            fast.record(Duration.ofMillis(40));
            slow.record(Duration.ofSeconds(30));
        }
        assertEquals(Duration.ofSeconds(10), fast.next(true));
        assertEquals(CAP, slow.next(true));
        assertTrue(fast.explain(fast.next(true)).contains("20x the typical step of 0.040 s"), fast.explain(fast.next(true)));
    }

    @Test
    void stepsThatEvaluateOrCheckpointKeepTheStepTimeout() {
        StepDeadline d = new StepDeadline(20, Duration.ofSeconds(1), CAP);
        for (int i = 0; i < StepDeadline.WARM_UP; i++) {
            d.record(Duration.ofMillis(10));
        }
        assertEquals(CAP, d.next(false));
        assertEquals("120.0 s (step-timeout)", d.explain(d.next(false)));
    }

    @Test
    void itIsConfiguredUnderTroupeClusterAndRejectsNonsense() {
        StepDeadline d = StepDeadline.from(ConfigFactory.parseString(
                "troupe.cluster.step-deadline { factor = 4, floor = 200s }"), CAP);
        for (int i = 0; i < StepDeadline.WARM_UP; i++) {
            d.record(Duration.ofSeconds(1));
        }
        assertEquals(CAP, d.next(true), "a floor above step-timeout is the step-timeout");
        assertThrows(IllegalArgumentException.class, () -> new StepDeadline(0.5, Duration.ZERO, CAP));
    }
}
