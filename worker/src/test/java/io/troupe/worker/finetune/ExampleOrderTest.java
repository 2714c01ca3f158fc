package io.troupe.worker.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The epoch order by sample number ({@code at}, what a distributed classify job's shares read)
 * is the local trainer's sequence ({@code next}), over several epochs and in any access order.
 */
class ExampleOrderTest {
    @Test
    void theExampleAtASampleNumberIsTheOneTheSequentialOrderGivesThere() {
        int n = 7;
        ClassifierTrainer.ExampleOrder sequential = new ClassifierTrainer.ExampleOrder(n, 42);
        int[] expected = sequential.next(5 * n + 3);
        ClassifierTrainer.ExampleOrder byNumber = new ClassifierTrainer.ExampleOrder(n, 42);
        for (int s = 0; s < expected.length; s++) {
            assertEquals(expected[s], byNumber.at(s), "sample " + s);
        }
        // Backwards and across epochs: an earlier epoch is replayed from the seed.
        for (int s = expected.length - 1; s >= 0; s -= 3) {
            assertEquals(expected[s], byNumber.at(s), "sample " + s + " read again");
        }
        assertEquals(expected[2], new ClassifierTrainer.ExampleOrder(n, 42).at(2));
    }
}
