package io.troupe.tuner.pruner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.TuneException;
import io.troupe.tuner.space.SearchSpace;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** ASHA's rungs and its promotion rule, on worked examples computed by hand. */
class AshaPrunerTest {
    private final Map<Integer, NavigableMap<Long, Double>> history = new HashMap<>();

    /** Records a report the way StudyRunner does (history first, then the decision). */
    private Pruner.Decision report(Pruner s, int trial, long step, double value) {
        history.computeIfAbsent(trial, t -> new TreeMap<>()).put(step, value);
        return s.onReport(trial, step, value, history);
    }

    @Test
    void rungsAreMinResourceTimesPowersOfEtaBelowMaxResource() {
        assertEquals(List.of(100L, 300L, 900L), new AshaPruner(3, 100, 2700, 0).rungs());
        assertEquals(List.of(100L, 300L, 900L), new AshaPruner(3, 100, 1000, 0).rungs());
        assertEquals(List.of(50L, 100L, 200L, 400L), new AshaPruner(2, 50, 600, 0).rungs());
        assertEquals(List.of(50L, 100L), new AshaPruner(2, 50, 600, 2).rungs());
        // The defaults from a space with no asha section: eta 3, min = steps / 9, max = steps.
        Pruner d = Pruner.create("asha", SearchSpace.parse("params { dropout { type = float, min = 0, max = 0.1 } }"), 900);
        assertEquals(List.of(100L, 300L), d.rungs());
        assertThrows(TuneException.class, () -> new AshaPruner(1, 100, 900, 0));
        assertThrows(TuneException.class, () -> new AshaPruner(3, 900, 900, 0));
    }

    /**
     * eta = 3, rungs at 100 and 300 (max 900). Trials report at step 100 in the order A..G with
     * the values below; a trial continues only if it is in the best floor(n/3) (at least 1) of
     * the n values recorded at the rung so far, itself included:
     * <pre>
     * A 2.0  n=1 keep 1 of [2.0]                      -> continue
     * B 2.5  n=2 keep 1 of [2.0 2.5]                  -> prune
     * C 1.8  n=3 keep 1 of [1.8 2.0 2.5]              -> continue
     * D 1.9  n=4 keep 1 of [1.8 1.9 2.0 2.5]          -> prune
     * E 1.95 n=5 keep 1 of [1.8 1.9 1.95 2.0 2.5]     -> prune
     * F 1.85 n=6 keep 2 of [1.8 1.85 ...]             -> continue
     * G 2.2  n=7 keep 2                               -> prune
     * </pre>
     */
    @Test
    void aTrialContinuesOnlyInTheTopOneOverEtaOfItsRung() {
        AshaPruner asha = new AshaPruner(3, 100, 900, 0);
        double[] values = {2.0, 2.5, 1.8, 1.9, 1.95, 1.85, 2.2};
        boolean[] pruned = {false, true, false, true, true, false, true};
        for (int t = 0; t < values.length; t++) {
            report(asha, t, 50, 3.0);
            assertFalse(report(asha, t, 50, 3.0).prune(), "no rung below 100");
            Pruner.Decision d = report(asha, t, 100, values[t]);
            assertEquals(pruned[t], d.prune(), "trial " + t + ": " + d.reason());
        }
        Pruner.Decision d = asha.onReport(1, 100, 2.5, history);
        assertTrue(d.reason().startsWith("asha: val loss 2.5000 at rung 100 (step 100) is not in the best 2 of 7 (cutoff 1.8500)"),
                d.reason());
    }

    /**
     * Second rung: A (1.6), C (1.5), F (1.7) reach step 300 in that order. A is alone: continue;
     * C is better: continue; F (n=3, keep 1, cutoff 1.5) is pruned. Reports between rungs never prune.
     */
    @Test
    void theSecondRungComparesOnlyTrialsThatReachedIt() {
        AshaPruner asha = new AshaPruner(3, 100, 900, 0);
        report(asha, 0, 100, 2.0);
        report(asha, 2, 100, 1.8);
        report(asha, 5, 100, 1.85);
        assertFalse(report(asha, 0, 200, 5.0).prune(), "between rungs nothing is compared");
        assertFalse(report(asha, 0, 300, 1.6).prune());
        assertFalse(report(asha, 2, 300, 1.5).prune());
        assertTrue(report(asha, 5, 300, 1.7).prune());
        assertFalse(report(asha, 0, 600, 9.9).prune(), "no rung at or above max_resource");
    }

    /** With evaluations every 250 steps, rung 100 is judged at the first report past it (step 250). */
    @Test
    void aRungBetweenEvaluationsIsJudgedAtTheNextOne() {
        AshaPruner asha = new AshaPruner(2, 100, 1000, 0);
        assertFalse(report(asha, 0, 250, 2.0).prune());
        Pruner.Decision d = report(asha, 1, 250, 2.1);
        assertTrue(d.prune(), "n=2, keep 1, cutoff 2.0");
        assertTrue(d.reason().contains("rung 100 (step 250)"), d.reason());
        // Step 250 crossed rungs 100 and 200 at once; step 500 crosses rung 400, where trial 0 is alone.
        assertFalse(report(asha, 0, 500, 1.9).prune());
        assertFalse(report(asha, 2, 250, 1.5).prune(), "n=3, keep 1, 1.5 is the best");
    }
}
