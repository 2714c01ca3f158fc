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
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** ASHA's rungs, its pause rule and its promotions (paper's Algorithm 2), on scripted curves. */
class AshaPrunerTest {
    private final Map<Integer, NavigableMap<Long, Double>> history = new HashMap<>();
    private final Set<Integer> paused = new TreeSet<>();

    /** Records a report the way StudyRunner does (history first, then the decision; a pause is remembered). */
    private Pruner.Decision report(Pruner s, int trial, long step, double value) {
        history.computeIfAbsent(trial, t -> new TreeMap<>()).put(step, value);
        Pruner.Decision d = s.onReport(trial, step, value, history);
        if (d.pause()) {
            paused.add(trial);
        }
        return d;
    }

    /** What the runner does when a slot frees: promote, and take the trial out of the paused set. */
    private Optional<Integer> promote(Pruner s) {
        Optional<Integer> t = s.promotable(history, paused);
        t.ifPresent(paused::remove);
        return t;
    }

    @Test
    void rungsAreGraceTimesPowersOfEtaOnTheEvalCadence() {
        assertEquals(List.of(100L, 300L, 900L), new AshaPruner(3, 100, 2700, 0).rungs());
        assertEquals(List.of(50L, 100L, 200L, 400L), new AshaPruner(2, 50, 600, 0).rungs());
        assertEquals(List.of(50L, 100L), new AshaPruner(2, 50, 600, 2).rungs());
        // 67 and 201 rounded up to evaluations every 50 steps.
        assertEquals(List.of(100L, 250L), new AshaPruner(3, 67, 600, 0, 50).rungs());
        // Rounded up, 100 and 200 both land on 250: one rung; 800 lands on 1000, past the end.
        assertEquals(List.of(250L, 500L), new AshaPruner(2, 100, 600, 0, 250).rungs());
        assertThrows(TuneException.class, () -> new AshaPruner(1, 100, 900, 0));
        assertThrows(TuneException.class, () -> new AshaPruner(3, 900, 900, 0));
    }

    /**
     * The defaults from the shipped benchmark's shape: 600 steps, eval every 50, warm-up 30 (the
     * preset's 100 of 2000 scaled): grace = max(31, 600/9) = 67, on the cadence 100; rungs 100, 300.
     */
    @Test
    void theDefaultGracePeriodFollowsStepsWarmupAndCadence() {
        SearchSpace space = SearchSpace.parse("fixed { eval_interval = 50 }\n"
                + "params { dropout { type = float, min = 0, max = 0.1 } }");
        assertEquals(List.of(100L, 300L), Pruner.create("asha", space, 600).rungs());
        // A long warm-up moves the first rung past it: warm-up 200 of 600 -> grace 201 -> 250.
        SearchSpace warm = SearchSpace.parse("fixed { eval_interval = 50, warmup_iters = 200 }\n"
                + "params { dropout { type = float, min = 0, max = 0.1 } }");
        assertEquals(List.of(250L), Pruner.create("asha", warm, 600).rungs());
    }

    /**
     * eta = 3, rungs 100 and 300 (max 900). Trials reach step 100 in the order A..G; a trial goes
     * on only if it is in the best floor(n/3) of the n values at the rung, itself included, and is
     * paused otherwise (never while fewer than 3 arrived):
     * <pre>
     * A 2.0  n=1 keep 0                               -> pause
     * B 2.5  n=2 keep 0                               -> pause
     * C 1.8  n=3 keep 1 of [1.8 2.0 2.5]              -> continue
     * D 1.9  n=4 keep 1                               -> pause
     * E 1.95 n=5 keep 1                               -> pause
     * F 1.85 n=6 keep 2 of [1.8 1.85 ...]             -> continue
     * G 2.2  n=7 keep 2                               -> pause
     * </pre>
     */
    @Test
    void aTrialGoesOnOnlyInTheTopOneOverEtaOfItsRungAndIsPausedOtherwise() {
        AshaPruner asha = new AshaPruner(3, 100, 900, 0);
        double[] values = {2.0, 2.5, 1.8, 1.9, 1.95, 1.85, 2.2};
        boolean[] pause = {true, true, false, true, true, false, true};
        for (int t = 0; t < values.length; t++) {
            assertFalse(report(asha, t, 50, 3.0).stops(), "no rung below 100");
            Pruner.Decision d = report(asha, t, 100, values[t]);
            assertEquals(pause[t], d.pause(), "trial " + t + ": " + d.reason());
            assertFalse(d.prune(), "ASHA pauses, it never prunes for good");
        }
        Pruner.Decision d = asha.onReport(6, 100, 2.2, history);
        assertTrue(d.reason().startsWith("asha: paused at rung 100: val loss 2.2000 is not in the best floor(7/3) = 2"),
                d.reason());
    }

    /**
     * Promotions as the paper's get_job: A 2.0 and B 2.5 pause (n < eta); C 2.2 makes n = 3 and
     * pauses (cutoff 2.0), and then A, the best and paused, is promotable. D 2.6 and E 2.7: n = 5,
     * the top 1 is A, already promoted: nothing. F 2.8: n = 6, the top 2 are A and C: C is promoted.
     */
    @Test
    void aPausedTrialIsPromotedOnceItIsInTheTopOneOverEtaOfItsRung() {
        AshaPruner asha = new AshaPruner(3, 100, 900, 0);
        assertTrue(report(asha, 0, 100, 2.0).pause());
        assertTrue(report(asha, 1, 100, 2.5).pause());
        assertEquals(Optional.empty(), promote(asha), "two trials at the rung: floor(2/3) = 0");
        assertTrue(report(asha, 2, 100, 2.2).pause());
        assertEquals(Optional.of(0), promote(asha));
        assertTrue(report(asha, 3, 100, 2.6).pause());
        assertTrue(report(asha, 4, 100, 2.7).pause());
        assertEquals(Optional.empty(), promote(asha), "the top 1 of 5 (trial 0) was promoted already");
        assertTrue(report(asha, 5, 100, 2.8).pause());
        assertEquals(Optional.of(2), promote(asha));
        assertEquals(Optional.empty(), promote(asha));
        // Trial 0 goes on: between rungs nothing is judged; at rung 300 it is alone and pauses.
        assertFalse(report(asha, 0, 200, 9.0).stops());
        assertTrue(report(asha, 0, 300, 1.5).pause());
        // At the end of the study, the best paused trial at the highest rung is finished.
        assertEquals(Optional.of(0), asha.finishing(history, paused));
    }

    /** The highest rung is served first: a trial that can go from 300 goes before one from 100. */
    @Test
    void promotionsStartFromTheHighestRung() {
        AshaPruner asha = new AshaPruner(3, 100, 2700, 0);
        // Rung 300: trials 0, 1, 2 reached it (through earlier promotions); 0 is best and paused.
        for (int t = 0; t < 3; t++) {
            history.put(t, new TreeMap<>(Map.of(100L, 2.0 + t * 0.01, 300L, 1.5 + t * 0.1)));
        }
        paused.add(0);
        // Rung 100: three more trials, the best of them (1.0) paused too.
        for (int t = 3; t < 6; t++) {
            history.put(t, new TreeMap<>(Map.of(100L, 1.0 + t)));
        }
        paused.add(3);
        assertEquals(Optional.of(0), promote(asha));
        assertEquals(Optional.empty(), promote(asha), "at rung 100 the top 2 of 6 are 0 and 1, not 3");
    }

    /** With evaluations every 250 steps, rung 100 is judged at the first report past it (step 250). */
    @Test
    void aRungBetweenEvaluationsIsJudgedAtTheNextOne() {
        AshaPruner asha = new AshaPruner(2, 100, 1000, 0);
        assertTrue(report(asha, 0, 250, 2.0).pause(), "alone: floor(1/2) = 0");
        Pruner.Decision d = report(asha, 1, 250, 1.9);
        assertFalse(d.stops(), "n=2, keep 1, 1.9 is the best: " + d.reason());
        assertEquals(Optional.empty(), promote(asha));
    }

    /**
     * Hyperband with eta 3, grace 100, 600 steps: bracket 0 has rungs 100 and 300, bracket 1 only
     * 300, bracket 2 none. Trials 0, 3, 6 are bracket 0 and compare only among themselves.
     */
    @Test
    void hyperbandBracketsAreAshaWithLaterGracePeriods() {
        HyperbandPruner hb = new HyperbandPruner(3, 100, 600, 50);
        assertEquals(3, hb.brackets());
        assertEquals(List.of(100L, 300L), hb.rungs());
        assertFalse(report(hb, 2, 100, 9.0).stops(), "bracket 2 has no rung");
        assertFalse(report(hb, 2, 300, 9.0).stops());
        assertFalse(report(hb, 1, 100, 9.0).stops(), "bracket 1 starts at 300");
        assertTrue(report(hb, 1, 300, 9.0).pause(), "alone in its bracket at 300");
        assertTrue(report(hb, 0, 100, 3.0).pause());
        assertTrue(report(hb, 3, 100, 3.1).pause());
        // Trial 6 is bracket 0's third: it goes on, though trial 2 (9.0, another bracket) is worse at 100.
        assertFalse(report(hb, 6, 100, 2.0).stops());
        assertEquals(Optional.empty(), promote(hb));
    }
}
