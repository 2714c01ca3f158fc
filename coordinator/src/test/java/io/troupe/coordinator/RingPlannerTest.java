package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.coordinator.RingPlanner.Candidate;
import io.troupe.coordinator.RingPlanner.Plan;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RingPlannerTest {
    private static InetSocketAddress at(int port) {
        return new InetSocketAddress("127.0.0.1", port);
    }

    @Test
    void survivorsOfAFailedStepContinueWithoutSyncing() {
        Plan plan = RingPlanner.plan(List.of(new Candidate("a", 41, 7, at(1)), new Candidate("c", 41, 7, at(3))), 4, -1, null);
        assertEquals(List.of("a", "c"), plan.ring());
        assertEquals(41, plan.step());
        assertTrue(plan.syncFrom().isEmpty());
    }

    @Test
    void aWorkerThatFinishedTheInterruptedStepIsTheSource() {
        // b's all-reduce completed before the peer died; a's did not.
        Plan plan = RingPlanner.plan(List.of(new Candidate("a", 41, 7, at(1)), new Candidate("b", 42, 9, at(2))), 4, -1, null);
        assertEquals(42, plan.step());
        assertEquals(Map.of("a", at(2)), plan.syncFrom());
    }

    @Test
    void aJoinerAndADriftedWorkerSyncFromTheMajority() {
        Plan plan = RingPlanner.plan(List.of(new Candidate("a", 50, 5, at(1)), new Candidate("b", 50, 6, at(2)),
                new Candidate("c", 50, 5, at(3)), new Candidate("new", 0, 1, at(4))), 4, -1, null);
        assertEquals(50, plan.step());
        assertEquals(Map.of("b", at(1), "new", at(1)), plan.syncFrom());
    }

    @Test
    void theRingTakesAtMostMaxWorkersInOrder() {
        Plan plan = RingPlanner.plan(List.of(new Candidate("a", 3, 1, at(1)), new Candidate("b", 3, 1, at(2)),
                new Candidate("c", 3, 1, at(3))), 2, -1, null);
        assertEquals(List.of("a", "b"), plan.ring());
    }

    @Test
    void freshWorkersOfAResumedJobAllSyncFromTheCoordinator() {
        Plan plan = RingPlanner.plan(List.of(new Candidate("a", 0, 1, at(1)), new Candidate("b", 0, 1, at(2))), 4, 300,
                at(9));
        assertEquals(300, plan.step());
        assertEquals(Map.of("a", at(9), "b", at(9)), plan.syncFrom());
    }
}
