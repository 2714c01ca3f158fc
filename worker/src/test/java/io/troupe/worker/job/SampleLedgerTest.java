package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SampleLedgerTest {

    @Test
    void contiguousStepsAreExactlyOnce() {
        SampleLedger ledger = new SampleLedger(10, 0);
        for (long step = 0; step < 7; step++) {
            ledger.record(step * 4, 2);
            ledger.record(step * 4 + 2, 2);
        }
        assertEquals(28, ledger.consumed());
        assertEquals(0, ledger.duplicated());
        assertEquals(0, ledger.lost(28));
    }

    @Test
    void repeatsAreDuplicatesAndGapsAreLost() {
        SampleLedger ledger = new SampleLedger(10, 0);
        ledger.record(0, 6);
        ledger.record(4, 4); // 4 and 5 again
        ledger.record(10, 2); // 8 and 9 skipped
        assertEquals(10, ledger.consumed());
        assertEquals(2, ledger.duplicated());
        assertEquals(2, ledger.lost(12));
    }

    @Test
    void workBeyondTheCursorCountsAsLost() {
        SampleLedger ledger = new SampleLedger(10, 0);
        ledger.record(0, 12);
        assertEquals(0, ledger.lost(12));
        assertEquals(2, ledger.lost(10), "samples 10 and 11 were trained on but never committed");
    }

    @Test
    void aResumedLedgerStartsWithItsCursorConsumed() {
        SampleLedger ledger = new SampleLedger(10, 13);
        ledger.record(13, 4);
        ledger.record(12, 1);
        assertEquals(17, ledger.consumed());
        assertEquals(1, ledger.duplicated());
        assertEquals(0, ledger.lost(17));
    }
}
