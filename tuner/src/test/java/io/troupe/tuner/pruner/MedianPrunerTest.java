package io.troupe.tuner.pruner;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The median stopping rule on a worked example. */
class MedianPrunerTest {
    private final Map<Integer, NavigableMap<Long, Double>> history = new HashMap<>();

    private Pruner.Decision report(Pruner s, int trial, long step, double value) {
        history.computeIfAbsent(trial, t -> new TreeMap<>()).put(step, value);
        return s.onReport(trial, step, value, history);
    }

    /**
     * Three finished trials with best-by-step-200 values 2.0, 2.2, 2.4 (median 2.2). A fourth
     * trial whose best by step 200 is 2.3 is pruned; one at 2.1 continues; before the warm-up
     * (step 100) nothing is pruned, nor while fewer than 3 others reached the step.
     */
    @Test
    void prunesATrialWorseThanTheMedianOfTheOthersBestValues() {
        MedianPruner median = new MedianPruner(150, 3);
        report(median, 0, 100, 2.5);
        report(median, 0, 200, 2.0);
        report(median, 1, 100, 2.2);
        report(median, 1, 200, 2.3);   // its best by 200 is 2.2
        assertFalse(report(median, 2, 100, 9.0).prune(), "warm-up");
        assertFalse(report(median, 2, 200, 2.4).prune(), "only 2 others reached step 200");
        Pruner.Decision d = report(median, 3, 200, 2.3);
        assertTrue(d.prune(), "2.3 > median 2.2");
        assertTrue(d.reason().contains("median 2.2000 of 3 other trials"), d.reason());
        assertFalse(report(median, 4, 200, 2.1).prune(), "2.1 < 2.2");
        // Its own best counts: a trial that was good earlier survives a worse report.
        assertFalse(report(median, 5, 150, 1.0).prune(), "3 others reached 150 (0, 1, 2: best 2.5, 2.2, 9.0)");
        assertFalse(report(median, 5, 200, 3.0).prune());
        // A trial with a bad best is pruned at 150 against trials 0, 1, 2 and 5 (2.5, 2.2, 9.0, 1.0:
        // median 2.35); trials 3 and 4, which first reported at 200, have no value by 150 and do not count.
        Pruner.Decision early = report(median, 6, 150, 2.6);
        assertTrue(early.prune());
        assertTrue(early.reason().contains("median 2.3500 of 4 other trials"), early.reason());
    }
}
