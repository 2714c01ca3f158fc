package io.troupe.tuner.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.LineageEvent;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The exported config of a population-based member says it is not the PBT run, and lists its weights' ancestry. */
class BestConfigTest {
    private static final SearchSpace SPACE = SearchSpace.parse("preset = shakespeare-char-small\n"
            + "params { learning_rate { type = log, min = 1e-4, max = 1e-2 } }\n");

    private static LineageEvent copy(int number, long step, int parent, double lr) {
        return new LineageEvent(number, step, parent, Map.of("learning_rate", lr));
    }

    /** Trial 2 copied 1 at 400; 1 had copied 0 at 200 (and copies 3 at 500, after 2 took its weights); 3 copied 0 at 100. */
    private static final List<LineageEvent> LINEAGE = List.of(copy(1, 500, 3, 9e-4), copy(3, 100, 0, 8e-4),
            copy(2, 400, 1, 2e-3), copy(1, 200, 0, 1e-3));

    @Test
    void ancestryFollowsTheWeightsBackThroughEveryCopy() {
        List<LineageEvent> chain = BestConfig.ancestry(2, 600, LINEAGE);
        assertEquals(List.of(copy(2, 400, 1, 2e-3), copy(1, 200, 0, 1e-3)), chain,
                "1's copy at 500 came after 2 took its weights, so it is not 2's ancestry");
        assertEquals(List.of(), BestConfig.ancestry(0, 600, LINEAGE));
    }

    @Test
    void aPbtMemberSaysItsFileIsNotThePbtRun() {
        StudyInfo pbt = new StudyInfo("/s", "", "/d", "random", "pbt", 0, 4, 1, 600, 0);
        TrialRecord member = new TrialRecord(2, TrialState.COMPLETE, Map.of("learning_rate", 2e-3), 2.1, null, 0, 1,
                new TreeMap<>(Map.of(600L, 2.1)));
        String text = BestConfig.render(pbt, SPACE, member, "/s", LINEAGE);
        assertTrue(text.contains("does not repeat the PBT run"), text);
        assertTrue(text.contains("#   step 400: trial 2 took trial 1's weights and went on with learning_rate = 0.002\n"), text);
        assertTrue(text.contains("#   step 200: trial 1 took trial 0's weights and went on with learning_rate = 0.001\n"), text);
        assertTrue(text.contains("#   steps 0-200: trial 0 with its sampled settings\n"), text);
        assertFalse(text.contains("step 500"), text);
        assertTrue(text.contains("\nlearning_rate = 0.002\n"), "the final settings are the config: " + text);

        StudyInfo random = new StudyInfo("/s", "", "/d", "random", "none", 0, 4, 1, 600, 0);
        assertFalse(BestConfig.render(random, SPACE, member, "/s").contains("population"), "only PBT members say so");
    }
}
