package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ElasticShareTest {

    @Test
    void sharesTileTheGlobalBatchInRankOrder() {
        for (int workers = 1; workers <= 5; workers++) {
            long next = 120;
            double weights = 0;
            for (int rank = 0; rank < workers; rank++) {
                ElasticShare share = ElasticShare.of(12, 2, workers, rank, 120);
                assertEquals(next, share.sampleFrom(), workers + " workers, rank " + rank);
                next += share.rows();
                weights += share.gradientWeight() / workers;
            }
            assertEquals(132, next, "the shares of " + workers + " workers cover the batch");
            assertEquals(1.0, weights, 1e-6, "the weighted mean is the mean over all rows");
        }
    }

    @Test
    void unevenSharesRunAsOneMicroStep() {
        ElasticShare share = ElasticShare.of(12, 2, 5, 0, 0); // 3 rows do not split in 2
        assertEquals(3, share.rows());
        assertEquals(1, share.accumulation());
        assertEquals(3, share.microBatch());
        ElasticShare even = ElasticShare.of(12, 2, 3, 1, 0);
        assertEquals(2, even.accumulation());
        assertEquals(2, even.microBatch());
    }
}
