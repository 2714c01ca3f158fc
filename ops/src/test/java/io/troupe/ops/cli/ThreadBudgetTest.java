package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The CPUs of one process are shared by its workers, unless --threads says otherwise. */
class ThreadBudgetTest {

    @Test
    void withoutThreadsTheCoresAreDividedAmongTheLocalWorkers() {
        assertEquals(8, ThreadBudget.perWorker(OptionalInt.empty(), 8, 1));
        assertEquals(4, ThreadBudget.perWorker(OptionalInt.empty(), 8, 2));
        assertEquals(2, ThreadBudget.perWorker(OptionalInt.empty(), 8, 3), "rounded down");
        assertEquals(1, ThreadBudget.perWorker(OptionalInt.empty(), 2, 4), "at least one thread each");
    }

    @Test
    void anExplicitValueIsKeptWhateverTheWorkers() {
        assertEquals(3, ThreadBudget.perWorker(OptionalInt.of(3), 8, 1));
        assertEquals(3, ThreadBudget.perWorker(OptionalInt.of(3), 8, 4));
        assertEquals(16, ThreadBudget.perWorker(OptionalInt.of(16), 2, 1));
    }

    @Test
    void moreThreadsThanCoresIsOversubscribed() {
        assertFalse(ThreadBudget.oversubscribed(4, 2, 8));
        assertFalse(ThreadBudget.oversubscribed(8, 1, 8));
        assertFalse(ThreadBudget.oversubscribed(1, 2, 2), "exactly the cores");
        assertTrue(ThreadBudget.oversubscribed(2, 2, 2));
        assertTrue(ThreadBudget.oversubscribed(1, 4, 2), "one thread each is still too many for 4 workers on 2 cores");
        assertTrue(ThreadBudget.oversubscribed(Integer.MAX_VALUE, 2, 8), "no overflow");
        assertTrue(ThreadBudget.warning(2, 2, 2).contains("2 worker(s) x 2 thread(s) = 4 threads on 2 CPU(s)"));
    }

    @Test
    void nonsenseIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> ThreadBudget.perWorker(OptionalInt.empty(), 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ThreadBudget.perWorker(OptionalInt.empty(), 2, 0));
    }
}
