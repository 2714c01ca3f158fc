package io.troupe.data.labelled;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClassificationMetricsTest {
    private static final double EPS = 1e-12;
    private static final LabelSet ABC = LabelSet.of("a", "b", "c");

    // gold:      a a a a b b b c c c
    // predicted: a a b a b b a a b a   (c is never predicted)
    // confusion [gold][pred]: a: 3 1 0 / b: 1 2 0 / c: 2 1 0
    private static final int[] GOLD = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
    private static final int[] PRED = {0, 0, 1, 0, 1, 1, 0, 0, 1, 0};

    @Test
    void matchesTheHandComputedReportIncludingAClassNeverPredicted() {
        ClassificationMetrics m = ClassificationMetrics.of(ABC, GOLD, PRED);

        assertEquals(0.5, m.accuracy(), EPS, "5 of 10 correct");
        assertArrayEquals(new long[] {3, 1, 0}, m.confusion()[0]);
        assertArrayEquals(new long[] {1, 2, 0}, m.confusion()[1]);
        assertArrayEquals(new long[] {2, 1, 0}, m.confusion()[2]);

        ClassMetrics a = m.perClass().get(0);
        assertEquals(3.0 / 6, a.precision(), EPS, "3 right of 6 predicted a");
        assertEquals(3.0 / 4, a.recall(), EPS);
        assertEquals(0.6, a.f1(), EPS);
        assertEquals(4, a.support());
        ClassMetrics b = m.perClass().get(1);
        assertEquals(0.5, b.precision(), EPS);
        assertEquals(2.0 / 3, b.recall(), EPS);
        assertEquals(4.0 / 7, b.f1(), EPS);
        assertEquals(3, b.support());
        ClassMetrics c = m.perClass().get(2);
        assertEquals(0, c.precision(), EPS);
        assertEquals(0, c.recall(), EPS);
        assertEquals(0, c.f1(), EPS);
        assertEquals(3, c.support());

        assertEquals(1.0 / 3, m.macroPrecision(), EPS);
        assertEquals((0.75 + 2.0 / 3) / 3, m.macroRecall(), EPS);
        assertEquals((0.6 + 4.0 / 7) / 3, m.macroF1(), EPS);
        assertEquals(List.of("class 'c' was never predicted: its precision and F1 are set to 0"), m.warnings());
    }

    @Test
    void perfectPredictionsScoreOneAndWarnNothing() {
        ClassificationMetrics m = ClassificationMetrics.of(ABC, GOLD, GOLD);
        assertEquals(1, m.accuracy(), EPS);
        assertEquals(1, m.macroF1(), EPS);
        assertTrue(m.warnings().isEmpty());
    }

    @Test
    void aClassWithNoGoldExampleHasRecallZeroAndAWarning() {
        ClassificationMetrics m = ClassificationMetrics.of(ABC, new int[] {0, 1}, new int[] {0, 2});
        assertEquals(0, m.perClass().get(2).recall(), EPS);
        assertEquals(0, m.perClass().get(1).precision(), EPS, "b was never predicted");
        assertEquals(List.of("class 'b' was never predicted: its precision and F1 are set to 0",
                "class 'c' has no gold examples: its recall and F1 are set to 0"), m.warnings());
    }

    @Test
    void jsonHasTheDocumentedShape() {
        JsonNode json = ClassificationMetrics.of(ABC, GOLD, PRED).toJson();
        assertEquals(0.5, json.get("accuracy").asDouble(), EPS);
        assertEquals((0.6 + 4.0 / 7) / 3, json.get("macro_f1").asDouble(), EPS);
        assertEquals(0.75, json.at("/per_class/a/recall").asDouble(), EPS);
        assertEquals(4, json.at("/per_class/a/support").asInt());
        assertEquals(0, json.at("/per_class/c/f1").asDouble(), EPS);
        assertEquals("[[3,1,0],[1,2,0],[2,1,0]]", json.get("confusion").toString());
        assertEquals(1, json.get("warnings").size());
    }

    @Test
    void theTableShowsEveryNumberAndTheWarning() {
        String table = ClassificationMetrics.of(ABC, GOLD, PRED).renderTable();
        assertTrue(table.startsWith("accuracy 0.5000 (5 of 10 correct)"), table);
        assertTrue(table.contains("\na             0.5000     0.7500     0.6000          4\n"), table);
        assertTrue(table.contains("macro avg     0.3333     0.4722     0.3905         10"), table);
        assertTrue(table.contains("\nc                  2          1          0\n"), table);
        assertTrue(table.contains("warning: class 'c' was never predicted"), table);
    }

    @Test
    void refusesMismatchedOrOutOfRangeInput() {
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(ABC, new int[] {0}, new int[] {0, 1}));
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(ABC, new int[] {3}, new int[] {0}));
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(ABC, new int[0], new int[0]));
    }

    @Test
    void foldSummaryIsMeanAndSampleStd() {
        FoldSummary s = new FoldSummary("accuracy", new double[] {0.8, 0.9, 0.7, 0.8});
        assertEquals(0.8, s.mean(), EPS);
        // squares: 0, 0.01, 0.01, 0 -> 0.02 / 3
        assertEquals(Math.sqrt(0.02 / 3), s.std(), EPS);
        assertEquals("accuracy 0.8000 ± 0.0816 over 4 folds", s.toString());
        assertEquals(0, new FoldSummary("f1", new double[] {0.5}).std(), EPS);
        assertEquals(4, s.toJson().get("values").size());
    }
}
