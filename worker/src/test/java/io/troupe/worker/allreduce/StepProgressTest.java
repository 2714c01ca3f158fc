package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StepProgressTest {

    // Rank 1 of 3, 10 floats in 2-element chunks: segments of 4, 3, 3 elements.
    private final RingPlan plan = new RingPlan(3, 1, 10, 2);

    @Test
    void acceptsTheExpectedFramesAndForwardsThem() throws FrameException {
        StepProgress step = new StepProgress(plan, 5, WireFormat.FP32);
        // Before anything arrives, only the own segment (1, two chunks) can go out, in phase 0.
        assertEquals(new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 5, 10, 0, 1, 0, 2), step.nextFrameToSend());
        assertEquals(new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 5, 10, 0, 1, 1, 1), step.nextFrameToSend());
        assertFalse(step.hasFrameToSend());

        FrameHeader first = frame(5, 0, plan.receiveSegment(0), 0);
        step.check(first);
        step.received(first);
        FrameHeader forward = step.nextFrameToSend();
        assertEquals(1, forward.phase());
        assertEquals(plan.receiveSegment(0), forward.segment());
        assertEquals(0, forward.chunk());
    }

    @Test
    void completesAfterEveryFrameInAndOut() throws FrameException {
        StepProgress step = new StepProgress(plan, 5, WireFormat.FP32);
        int[] next = new int[plan.phases()];
        while (step.awaitsFrames()) {
            // Deliver phase by phase, in chunk order, as a predecessor would.
            int phase = 0;
            while (next[phase] == plan.chunkCount(plan.receiveSegment(phase))) {
                phase++;
            }
            FrameHeader header = frame(5, phase, plan.receiveSegment(phase), next[phase]++);
            step.check(header);
            step.received(header);
        }
        assertFalse(step.isComplete(), "nothing sent yet");
        while (step.hasFrameToSend()) {
            step.nextFrameToSend();
        }
        assertTrue(step.isComplete());
    }

    @Test
    void rejectsFramesThatAreNotNext() {
        StepProgress step = new StepProgress(plan, 5, WireFormat.FP32);
        int segment = plan.receiveSegment(0);
        assertRejected(step, frame(6, 0, segment, 0), "step 6");
        assertRejected(step, frame(5, 0, segment, 1), "expected chunk 0");
        assertRejected(step, frame(5, 0, (segment + 1) % 3, 0), "expected segment " + segment);
        assertRejected(step, frame(5, 4, segment, 0), "phases 0..3");
        assertRejected(step, new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 5, 11, 0, segment, 0, 2), "11 floats");
        assertRejected(step, new FrameHeader(FrameHeader.DATA, WireFormat.BF16, 5, 10, 0, segment, 0, 2), "BF16");
        assertRejected(step, new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 5, 10, 0, segment, 0, 1), "carries 1 elements");
    }

    private static void assertRejected(StepProgress step, FrameHeader header, String expected) {
        FrameException e = assertThrows(FrameException.class, () -> step.check(header));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private FrameHeader frame(long stepId, int phase, int segment, int chunk) {
        return new FrameHeader(FrameHeader.DATA, WireFormat.FP32, stepId, 10, phase, segment, chunk,
                plan.chunkLength(segment, chunk));
    }
}
