package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.troupe.worker.run.TrainListener.StepStats;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The plain log line of a step: a distributed step adds its all-reduce time and the exposed part. */
class TrainProgressTest {

    private static String line(StepStats s) {
        StringWriter text = new StringWriter();
        new TrainProgress(new PrintWriter(text), false, 1).onStep(s);
        return text.toString().strip();
    }

    @Test
    void aDistributedStepShowsItsAllReduceAndTheExposedPart() {
        // 30 ms in the ring, 4 ms of it after the backward pass, in a 200 ms step: 2% exposed.
        assertEquals("step 8/10  loss 2.2500  lr 9.00e-04  5,000 tok/s  MFU 15.0%  200.0 ms"
                + "  allreduce 30.0 ms (exposed 4.0 ms, 2.0% of the step)",
                line(new StepStats(8, 10, 2.25, 9e-4, 0.7, 5000, 200, 0.15, 3, 30, 1200, 4)));
    }

    @Test
    void aLocalStepHasNoAllReduce() {
        assertEquals("step 1/10  loss 3.0000  lr 1.00e-03  100 tok/s  MFU 1.0%  10.0 ms",
                line(new StepStats(1, 10, 3.0, 1e-3, 1.0, 100, 10, 0.01, 1, 0, 0)));
    }
}
