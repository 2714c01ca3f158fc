package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RingPlanTest {

    private static final int[] LENGTHS = {0, 1, 2, 3, 4, 5, 7, 64, 1000, 1000003};

    @Test
    void segmentsTileTheBufferAndDifferByAtMostOne() {
        for (int n = 1; n <= 6; n++) {
            for (int length : LENGTHS) {
                RingPlan plan = new RingPlan(n, 0, length, 3);
                int next = 0;
                for (int s = 0; s < n; s++) {
                    assertEquals(next, plan.segmentOffset(s), "n=" + n + " length=" + length + " s=" + s);
                    assertTrue(Math.abs(plan.segmentLength(s) - length / n) <= 1);
                    int covered = 0;
                    for (int k = 0; k < plan.chunkCount(s); k++) {
                        assertEquals(next + covered, plan.chunkOffset(s, k));
                        assertTrue(plan.chunkLength(s, k) >= 1 && plan.chunkLength(s, k) <= 3);
                        covered += plan.chunkLength(s, k);
                    }
                    assertEquals(plan.segmentLength(s), covered);
                    next += covered;
                }
                assertEquals(length, next);
            }
        }
    }

    @Test
    void whatEachRankReceivesIsWhatItsPredecessorSendsAndWhatItForwards() {
        for (int n = 2; n <= 6; n++) {
            for (int r = 0; r < n; r++) {
                RingPlan plan = new RingPlan(n, r, 1000, 7);
                RingPlan predecessor = new RingPlan(n, Math.floorMod(r - 1, n), 1000, 7);
                for (int q = 0; q < plan.phases(); q++) {
                    assertEquals(predecessor.sendSegment(q), plan.receiveSegment(q));
                    if (plan.forwards(q)) {
                        assertEquals(plan.receiveSegment(q), plan.sendSegment(q + 1), "n=" + n + " r=" + r + " q=" + q);
                    }
                }
                assertEquals(predecessor.framesToSend(), plan.framesToReceive());
            }
        }
    }

    @Test
    void reduceScatterTouchesEveryOtherSegmentOnceAndEndsOwningTheNext() {
        for (int n = 2; n <= 6; n++) {
            for (int r = 0; r < n; r++) {
                RingPlan plan = new RingPlan(n, r, 100, 10);
                Set<Integer> reduced = new HashSet<>();
                Set<Integer> gathered = new HashSet<>();
                for (int q = 0; q < plan.phases(); q++) {
                    (plan.isReduceScatter(q) ? reduced : gathered).add(plan.receiveSegment(q));
                    if (plan.completesSum(q)) {
                        assertEquals((r + 1) % n, plan.receiveSegment(q), "the segment rank r owns after reduce-scatter");
                    }
                }
                assertEquals(n - 1, reduced.size());
                assertTrue(!reduced.contains(r), "rank r's own segment is sent, not received, in reduce-scatter");
                assertEquals(n - 1, gathered.size());
                assertTrue(!gathered.contains((r + 1) % n), "the owned segment is not overwritten in all-gather");
            }
        }
    }

    @Test
    void aRingOfOneHasNothingToDo() {
        RingPlan plan = new RingPlan(1, 0, 10, 4);
        assertEquals(0, plan.phases());
        assertEquals(0, plan.framesToSend());
        assertEquals(0, plan.framesToReceive());
    }
}
