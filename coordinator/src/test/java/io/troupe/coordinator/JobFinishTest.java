package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.coordinator.Membership.Member;
import io.troupe.worker.job.protocol.WorkerHello;
import java.util.List;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;

/** When the final ring has closed a job, without an actor system. */
class JobFinishTest {
    private final Membership members = new Membership();
    private final Member rank0 = member("a");
    private final Member rank1 = member("b");
    private final Member rank2 = member("c");
    private final JobFinish finish = new JobFinish(List.of(rank0, rank1, rank2));

    private Member member(String ref) {
        return members.admit(ref, new Address("pekko", "troupe", ref, 1), m -> { },
                new WorkerHello(null, "v", 1, "cpu", "127.0.0.1"));
    }

    @Test
    void theJobIsClosedWhenEveryRankOfTheFinalRingFinished() {
        assertFalse(finish.ofRing(3), "a reserve worker's report is not of the ring");
        assertFalse(finish.finished(0));
        assertFalse(finish.finished(2));
        assertTrue(finish.finished(1));
    }

    @Test
    void membersLostAfterTheLastStepCountAsFinishedButRankZeroMustExport() {
        assertTrue(finish.lost(List.of(rank2)));
        assertFalse(finish.done());
        assertFalse(finish.lost(List.of(rank0)), "rank 0 lost before it exported the model");
        assertFalse(finish.finished(0), "rank 1 has not finished yet");
        assertTrue(finish.lost(List.of(rank1)));
        assertTrue(finish.done());
    }
}
