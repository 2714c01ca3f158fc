package io.troupe.tuner.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The order, the table and the CSV of a study's trials. */
class StudyResultsTest {
    private static TrialRecord trial(int n, TrialState state, double value, String reason, Map<Long, Double> values) {
        Map<String, Object> params = new java.util.LinkedHashMap<>();
        params.put("learning_rate", 1e-3 * (n + 1));
        params.put("n_layer", (long) n);
        return new TrialRecord(n, state, params, value, reason,
                1_700_000_000_000L, state == TrialState.RUNNING ? 0 : 1_700_000_060_000L, new TreeMap<>(values));
    }

    private static final StudyResults RESULTS = new StudyResults(
            new StudyInfo("/s", "", "/d", "random", "asha", 0, 6, 1, 300, 0),
            List.of(trial(0, TrialState.PRUNED, 2.5, "asha: out at 100", Map.of(0L, 4.2, 100L, 2.5)),
                    trial(1, TrialState.COMPLETE, 1.9, null, Map.of(100L, 2.2, 300L, 1.9)),
                    trial(2, TrialState.FAILED, Double.NaN, "training diverged, twice \"really\"", Map.of()),
                    trial(3, TrialState.RUNNING, Double.NaN, null, Map.of(0L, 4.2, 100L, 2.4)),
                    trial(4, TrialState.PRUNED, 2.3, "asha: out at 100", Map.of(100L, 2.3)),
                    trial(5, TrialState.PRUNED, 2.6, "asha: out at 200", Map.of(100L, 2.1, 200L, 2.6)),
                    trial(6, TrialState.COMPLETE, 1.7, null, Map.of(300L, 1.7))),
            List.of(100L, 200L));

    @Test
    void completeTrialsComeFirstByValueThenPrunedOnesThatRanFurther() {
        assertEquals(List.of(6, 1, 5, 4, 0, 3, 2), RESULTS.trials().stream().map(TrialRecord::number).toList());
        assertEquals(6, RESULTS.best().orElseThrow().number());
    }

    @Test
    void theTableShowsEveryTrialAndTheBestConfiguration() {
        List<String> lines = RESULTS.table().lines().toList();
        assertEquals("study /s: 7 of 6 trials, sampler random, pruner asha, 300 steps", lines.get(0));
        assertTrue(lines.get(1).matches("trial +state +val_loss +steps +learning_rate +n_layer +reason"), lines.get(1));
        assertTrue(lines.get(2).matches("6 +COMPLETE +1\\.7000 +300 +0\\.007000 +6"), lines.get(2));
        assertTrue(lines.get(7).matches("3 +RUNNING +2\\.4000 +100 .*"), "a running trial shows its best so far: " + lines.get(7));
        assertTrue(lines.get(8).matches("2 +FAILED +- +- .*training diverged, twice \"really\""), lines.get(8));
        assertEquals("best: trial 6, val loss 1.7000", lines.get(9));
        assertEquals(List.of("  learning_rate = 0.007", "  n_layer = 6"), lines.subList(10, 12));
    }

    @Test
    void theCsvQuotesFreeTextAndLeavesUnknownValuesEmpty() {
        List<String> lines = RESULTS.csv().lines().toList();
        assertEquals("number,state,value,last_step,learning_rate,n_layer,reason,started_at,finished_at", lines.get(0));
        assertEquals("6,COMPLETE,1.7,300,0.007,6,,2023-11-14T22:13:20Z,2023-11-14T22:14:20Z", lines.get(1));
        assertEquals("2,FAILED,,,0.003,2,\"training diverged, twice \"\"really\"\"\",2023-11-14T22:13:20Z,2023-11-14T22:14:20Z",
                lines.get(7));
        assertTrue(lines.get(6).endsWith(",2023-11-14T22:13:20Z,"), "a running trial has no finish time: " + lines.get(6));
    }

    private static TrialRecord audited(int n, TrialState state, double value, double pct) {
        TrialRecord t = trial(n, state, value, null, Map.of(100L, value));
        Map<String, Double> metrics = Double.isNaN(pct) ? Map.of()
                : Map.of("pct_stereotype", pct, "pct_stereotype_ci_low", pct - 5, "pct_stereotype_ci_high", pct + 5);
        return new TrialRecord(t.number(), t.state(), t.params(), t.value(), t.reason(), t.startedAt(), t.finishedAt(),
                t.intermediate(), metrics);
    }

    /** Losses 1.5 < 1.6 < 1.7 < 1.8 < 1.9 with biases 60, 52, -, 50, 40 (trial 5 pruned, 6 un-audited). */
    private static final StudyResults AUDITED = new StudyResults(
            new StudyInfo("/s", "", "/d", "random", "none", 0, 6, 1, 100, 0),
            List.of(audited(0, TrialState.COMPLETE, 1.5, 60.0),
                    audited(1, TrialState.COMPLETE, 1.6, 52.0),
                    audited(2, TrialState.COMPLETE, 1.7, Double.NaN),
                    audited(3, TrialState.COMPLETE, 1.8, 50.0),
                    audited(4, TrialState.COMPLETE, 1.9, 40.0),
                    audited(5, TrialState.PRUNED, 1.4, 10.0)),
            List.of());

    @Test
    void theBestUnderABiasThresholdIsTheLowestLossAmongCompleteTrialsAtOrBelowIt() {
        assertEquals(0, AUDITED.bestWith("pct_stereotype", 60.0).orElseThrow().number(), "at the threshold qualifies");
        assertEquals(1, AUDITED.bestWith("pct_stereotype", 59.99).orElseThrow().number());
        assertEquals(1, AUDITED.bestWith("pct_stereotype", 52.0).orElseThrow().number());
        assertEquals(3, AUDITED.bestWith("pct_stereotype", 51.0).orElseThrow().number(), "an un-audited trial never qualifies");
        assertEquals(4, AUDITED.bestWith("pct_stereotype", 45.0).orElseThrow().number());
        assertTrue(AUDITED.bestWith("pct_stereotype", 39.0).isEmpty(), "a pruned trial never qualifies");
        assertTrue(AUDITED.bestWith("other_metric", 100.0).isEmpty());
    }

    @Test
    void secondaryMetricsAreColumnsOfTheTableAndTheCsv() {
        assertEquals(List.of("pct_stereotype", "pct_stereotype_ci_high", "pct_stereotype_ci_low"), AUDITED.metricNames());
        List<String> table = AUDITED.table().lines().toList();
        assertTrue(table.get(1).matches("trial +state +val_loss +steps +learning_rate +n_layer +pct_stereotype"
                + " +pct_stereotype_ci_high +pct_stereotype_ci_low +reason"), table.get(1));
        assertTrue(table.get(2).matches("0 +COMPLETE +1\\.5000 +100 +0\\.001000 +0 +60\\.00 +65\\.00 +55\\.00"), table.get(2));
        assertTrue(table.get(4).matches("2 +COMPLETE +1\\.7000 +100 +0\\.003000 +2 +- +- +-"), table.get(4));
        List<String> csv = AUDITED.csv().lines().toList();
        assertEquals("number,state,value,last_step,learning_rate,n_layer,pct_stereotype,pct_stereotype_ci_high,"
                + "pct_stereotype_ci_low,reason,started_at,finished_at", csv.get(0));
        assertTrue(csv.get(1).startsWith("0,COMPLETE,1.5,100,0.001,0,60.0,65.0,55.0,,"), csv.get(1));
        assertTrue(csv.get(3).startsWith("2,COMPLETE,1.7,100,0.003,2,,,,,"), csv.get(3));
        assertTrue(HtmlReport.render(AUDITED, null).contains("pct_stereotype"), "the report's trial table has the column");
    }
}
