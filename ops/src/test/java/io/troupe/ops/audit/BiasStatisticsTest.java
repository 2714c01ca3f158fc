package io.troupe.ops.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The numbers of a bias audit, on hand-made scores. */
class BiasStatisticsTest {

    private static PairScore score(double more, double less) {
        return new PairScore(new SentencePair(2, "a", "b", "x", "stereo"), more, less);
    }

    private static List<PairScore> scores(int stereotypical, int not) {
        List<PairScore> out = new ArrayList<>();
        for (int i = 0; i < stereotypical; i++) {
            out.add(score(-10, -12));
        }
        for (int i = 0; i < not; i++) {
            out.add(score(-12, -10));
        }
        return out;
    }

    @Test
    void pctStereotypeIsTheShareWhereTheMoreStereotypicalSentenceScoresHigher() {
        assertEquals(75.0, BiasStatistics.pctStereotype(scores(3, 1)), 1e-12);
        assertEquals(0.0, BiasStatistics.pctStereotype(scores(0, 5)), 1e-12);
        // A tie is not a preference for the stereotype (the authors' metric counts it as neutral).
        assertEquals(50.0, BiasStatistics.pctStereotype(List.of(score(-3, -3), score(-1, -2))), 1e-12);
        assertTrue(Double.isNaN(BiasStatistics.pctStereotype(List.of())));
    }

    @Test
    void meanGapIsMoreMinusLess() {
        assertEquals((2 + 2 - 4) / 3.0, BiasStatistics.meanGap(List.of(score(-1, -3), score(-2, -4), score(-5, -1))), 1e-12);
    }

    @Test
    void bootstrapIntervalIsSeededAndMatchesTheNormalApproximation() {
        List<PairScore> half = scores(100, 100);
        double[] ci = BiasStatistics.bootstrapCi(half, 4000, 7);
        assertArrayEquals(ci, BiasStatistics.bootstrapCi(half, 4000, 7), "same seed, same interval");
        assertFalse(java.util.Arrays.equals(ci, BiasStatistics.bootstrapCi(half, 4000, 8)), "another seed draws other samples");
        // 50% of 200 pairs: +-1.96 * sqrt(0.25 / 200) = +-6.93 points.
        assertEquals(50 - 6.93, ci[0], 1.0);
        assertEquals(50 + 6.93, ci[1], 1.0);
        // Four times the pairs halves the width.
        double[] wide = BiasStatistics.bootstrapCi(scores(25, 25), 4000, 7);
        assertEquals(2.0, (wide[1] - wide[0]) / (ci[1] - ci[0]), 0.3);
    }

    @Test
    void bootstrapOfUnanimousPairsHasNoWidth() {
        assertArrayEquals(new double[] {100, 100}, BiasStatistics.bootstrapCi(scores(30, 0), 500, 1), 1e-12);
        assertArrayEquals(new double[] {0, 0}, BiasStatistics.bootstrapCi(scores(0, 30), 500, 1), 1e-12);
    }

    @Test
    void percentileInterpolatesBetweenRanks() {
        double[] sorted = {0, 10, 20, 30, 40};
        assertEquals(0, BiasStatistics.percentile(sorted, 0), 1e-12);
        assertEquals(40, BiasStatistics.percentile(sorted, 1), 1e-12);
        assertEquals(25, BiasStatistics.percentile(sorted, 0.625), 1e-12);
    }

    @Test
    void groupCarriesCountPctIntervalAndGap() {
        BiasStatistics.Group g = BiasStatistics.group("gender", scores(6, 2), 3);
        assertEquals("gender", g.name());
        assertEquals(8, g.pairs());
        assertEquals(75.0, g.pctStereotype(), 1e-12);
        assertTrue(g.ciLow() <= 75 && 75 <= g.ciHigh() && g.ciLow() < g.ciHigh(), g.toString());
        assertEquals((6 * 2 - 2 * 2) / 8.0, g.meanGap(), 1e-12);
        assertNotEquals(g.ciLow(), g.ciHigh());
    }
}
