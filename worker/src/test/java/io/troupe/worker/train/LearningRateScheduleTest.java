package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LearningRateScheduleTest {

    // nanoGPT's shakespeare_char settings.
    private final LearningRateSchedule schedule = new LearningRateSchedule(1e-3, 1e-4, 100, 5000);

    @Test
    void matchesNanoGptAtTheBoundaries() {
        // Values from nanoGPT's get_lr run in Python with the same settings.
        assertEquals(9.900990099009901e-06, schedule.at(0), 1e-18);
        assertEquals(1.9801980198019803e-05, schedule.at(1), 1e-18);
        assertEquals(0.0009900990099009901, schedule.at(99), 1e-18);
        assertEquals(0.001, schedule.at(100), 1e-18);
        assertEquals(0.000999999907510999, schedule.at(101), 1e-18);
        assertEquals(0.0008862110040286674, schedule.at(1234), 1e-18);
        assertEquals(0.00055, schedule.at(2550), 1e-18);
        assertEquals(0.00010000009248900101, schedule.at(4999), 1e-18);
        assertEquals(0.0001, schedule.at(5000), 1e-18);
        assertEquals(0.0001, schedule.at(5001), 0);
        assertEquals(0.0001, schedule.at(1_000_000_000L), 0);
    }

    @Test
    void constantAndDegenerateSchedules() {
        LearningRateSchedule constant = LearningRateSchedule.constant(3e-4);
        for (long it : new long[] {0, 1, 100, 1_000_000}) {
            assertEquals(3e-4, constant.at(it), 0);
        }
        LearningRateSchedule warmupOnly = new LearningRateSchedule(1e-3, 1e-4, 10, 10);
        assertEquals(1e-3 * 10 / 11, warmupOnly.at(9), 1e-18);
        assertEquals(1e-4, warmupOnly.at(10), 0);
        LearningRateSchedule noWarmup = new LearningRateSchedule(1e-3, 0, 0, 100);
        assertEquals(1e-3, noWarmup.at(0), 0);
        assertEquals(0, noWarmup.at(100), 1e-18);
    }

    @Test
    void rejectsInconsistentSettings() {
        assertThrows(IllegalArgumentException.class,
                () -> new LearningRateSchedule(1e-4, 1e-3, 100, 5000));
        assertThrows(IllegalArgumentException.class,
                () -> new LearningRateSchedule(1e-3, 1e-4, 200, 100));
        assertThrows(IllegalArgumentException.class,
                () -> new LearningRateSchedule(Double.NaN, 0, 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new LearningRateSchedule(1e-3, 1e-4, -1, 100));
    }
}
