package io.troupe.ops.translate;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Corpus chrF with sacreBLEU's defaults: character n-grams of orders 1..6 over the segment with
 * whitespace removed, beta = 2, no word n-grams. Each segment keeps the statistics of its best
 * reference (by segment chrF); the corpus score is the F-beta of precision and recall averaged over
 * the orders that have both hypothesis and reference n-grams.
 */
public final class CorpusChrf {
    /** Character n-gram orders. */
    public static final int CHAR_ORDER = 6;
    /** Recall weight. */
    public static final int BETA = 2;

    /** Scores hypotheses against one or more parallel reference streams; returns 0..100. */
    public double score(List<String> hypotheses, List<List<String>> references) {
        CorpusBleu.checkParallel(hypotheses, references);
        long[] sum = new long[3 * CHAR_ORDER];
        for (int s = 0; s < hypotheses.size(); s++) {
            List<Map<String, Integer>> hyp = charNgrams(hypotheses.get(s));
            long[] best = null;
            double bestF = -1.0;
            for (List<String> stream : references) {
                long[] stats = matchStats(hyp, charNgrams(stream.get(s)));
                double f = fScore(stats);
                if (f > bestF) {
                    bestF = f;
                    best = stats;
                }
            }
            for (int i = 0; i < sum.length; i++) {
                sum[i] += best[i];
            }
        }
        return fScore(sum);
    }

    /** Counts of n-grams per order, over code points, whitespace removed. */
    private static List<Map<String, Integer>> charNgrams(String line) {
        int[] cps = String.join("", PyWhitespace.split(line)).codePoints().toArray();
        List<Map<String, Integer>> out = new ArrayList<>();
        for (int n = 1; n <= CHAR_ORDER; n++) {
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i + n <= cps.length; i++) {
                counts.merge(new String(cps, i, n), 1, Integer::sum);
            }
            out.add(counts);
        }
        return out;
    }

    /** [hyp count, ref count, matches] per order, flattened. */
    private static long[] matchStats(List<Map<String, Integer>> hyp, List<Map<String, Integer>> ref) {
        long[] stats = new long[3 * CHAR_ORDER];
        for (int n = 0; n < CHAR_ORDER; n++) {
            Map<String, Integer> r = ref.get(n);
            long hypCount = 0;
            long match = 0;
            for (Map.Entry<String, Integer> e : hyp.get(n).entrySet()) {
                hypCount += e.getValue();
                Integer rc = r.get(e.getKey());
                if (rc != null) {
                    match += Math.min(e.getValue(), rc);
                }
            }
            long refCount = 0;
            for (int c : r.values()) {
                refCount += c;
            }
            stats[3 * n] = r.isEmpty() ? 0 : hypCount; // sacreBLEU counts no hypothesis n-grams against an empty reference order
            stats[3 * n + 1] = refCount;
            stats[3 * n + 2] = match;
        }
        return stats;
    }

    private static double fScore(long[] stats) {
        double factor = BETA * BETA;
        double avgPrec = 0;
        double avgRec = 0;
        int effective = 0;
        for (int n = 0; n < CHAR_ORDER; n++) {
            long hyp = stats[3 * n];
            long ref = stats[3 * n + 1];
            long match = stats[3 * n + 2];
            if (hyp > 0 && ref > 0) {
                avgPrec += (double) match / hyp;
                avgRec += (double) match / ref;
                effective++;
            }
        }
        if (effective == 0) {
            return 0.0;
        }
        avgPrec /= effective;
        avgRec /= effective;
        if (avgPrec + avgRec == 0) {
            return 0.0;
        }
        return 100 * (1 + factor) * avgPrec * avgRec / (factor * avgPrec + avgRec);
    }
}
