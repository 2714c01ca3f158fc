package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BatchPlanTest {

    @Test
    void unevenBatchesGiveTheFirstRanksOneMoreRowAndWeightsAverageToOne() {
        int[] rows = new int[5];
        double weights = 0;
        for (int rank = 0; rank < 5; rank++) {
            BatchPlan plan = BatchPlan.of(12, 1, 5, rank);
            rows[rank] = plan.rows();
            weights += plan.gradientWeight();
        }
        assertEquals("[3, 3, 2, 2, 2]", java.util.Arrays.toString(rows));
        // The all-reduce averages over workers: the weights must average to exactly one.
        assertEquals(5.0, weights, 1e-6);
    }

    @Test
    void accumulationAdaptsWhenTheRowsDoNotDivide() {
        assertEquals(3, BatchPlan.of(12, 3, 1, 0).accumulation());
        assertEquals(4, BatchPlan.of(12, 3, 1, 0).microBatch());
        BatchPlan uneven = BatchPlan.of(12, 4, 2, 0);   // 6 rows do not split into 4 micro-steps
        assertEquals(1, uneven.accumulation());
        assertEquals(6, uneven.microBatch());
    }

    @Test
    void moreWorkersThanSequencesIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchPlan.of(2, 1, 3, 0));
        assertEquals(true, e.getMessage().contains("smaller than the number of workers"), e.getMessage());
    }
}
