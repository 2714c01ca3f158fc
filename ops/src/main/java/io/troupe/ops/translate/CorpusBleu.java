package io.troupe.ops.translate;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Corpus BLEU with sacreBLEU's defaults: 13a tokenization, case-sensitive, n-grams up to 4, clipped
 * counts against the maximum over references, the closest reference length (the shorter on ties)
 * for the brevity penalty, and "exp" smoothing (each zero-match order gets 1 / (2^k * total)).
 */
public final class CorpusBleu {
    /** The largest n-gram order counted. */
    public static final int MAX_ORDER = 4;

    private final Tokenizer13a tokenizer = new Tokenizer13a();

    /** A corpus BLEU score with the statistics behind it. */
    public record Score(double bleu, double[] precisions, double brevityPenalty, long hypLength, long refLength) {
        /** Hypothesis length over reference length. */
        public double lengthRatio() {
            return refLength == 0 ? 0.0 : (double) hypLength / refLength;
        }
    }

    /**
     * Scores hypotheses against one or more reference streams.
     *
     * @param hypotheses one line per segment
     * @param references each inner list is a full reference stream, parallel to {@code hypotheses}
     */
    public Score score(List<String> hypotheses, List<List<String>> references) {
        checkParallel(hypotheses, references);
        long[] correct = new long[MAX_ORDER];
        long[] total = new long[MAX_ORDER];
        long hypLen = 0;
        long refLen = 0;
        for (int s = 0; s < hypotheses.size(); s++) {
            List<String> hyp = PyWhitespace.split(preprocess(hypotheses.get(s)));
            Map<List<String>, Integer> refMax = new HashMap<>();
            int closest = -1;
            int closestDiff = -1;
            for (List<String> stream : references) {
                List<String> ref = PyWhitespace.split(preprocess(stream.get(s)));
                for (Map.Entry<List<String>, Integer> e : ngrams(ref).entrySet()) {
                    refMax.merge(e.getKey(), e.getValue(), Math::max);
                }
                int diff = Math.abs(hyp.size() - ref.size());
                if (closestDiff == -1 || diff < closestDiff || (diff == closestDiff && ref.size() < closest)) {
                    closestDiff = diff;
                    closest = ref.size();
                }
            }
            hypLen += hyp.size();
            refLen += closest;
            for (Map.Entry<List<String>, Integer> e : ngrams(hyp).entrySet()) {
                int n = e.getKey().size() - 1;
                total[n] += e.getValue();
                correct[n] += Math.min(e.getValue(), refMax.getOrDefault(e.getKey(), 0));
            }
        }
        return compute(correct, total, hypLen, refLen);
    }

    private String preprocess(String segment) {
        return tokenizer.tokenize(PyWhitespace.rstrip(segment));
    }

    private static Map<List<String>, Integer> ngrams(List<String> tokens) {
        Map<List<String>, Integer> counts = new HashMap<>();
        for (int n = 1; n <= MAX_ORDER; n++) {
            for (int i = 0; i + n <= tokens.size(); i++) {
                counts.merge(List.copyOf(tokens.subList(i, i + n)), 1, Integer::sum);
            }
        }
        return counts;
    }

    private static Score compute(long[] correct, long[] total, long hypLen, long refLen) {
        double bp = 1.0;
        if (hypLen < refLen) {
            bp = hypLen > 0 ? Math.exp(1.0 - (double) refLen / hypLen) : 0.0;
        }
        double[] precisions = new double[MAX_ORDER];
        boolean anyCorrect = false;
        for (long c : correct) {
            anyCorrect |= c > 0;
        }
        if (!anyCorrect) {
            return new Score(0.0, precisions, bp, hypLen, refLen);
        }
        double smooth = 1.0;
        for (int n = 0; n < MAX_ORDER; n++) {
            if (total[n] == 0) {
                break; // later orders keep precision 0, which drives the score to 0 as sacreBLEU's does
            }
            if (correct[n] == 0) {
                smooth *= 2;
                precisions[n] = 100.0 / (smooth * total[n]);
            } else {
                precisions[n] = 100.0 * correct[n] / total[n];
            }
        }
        double logSum = 0;
        for (double p : precisions) {
            logSum += p == 0 ? -9999999999.0 : Math.log(p);
        }
        return new Score(bp * Math.exp(logSum / MAX_ORDER), precisions, bp, hypLen, refLen);
    }

    static void checkParallel(List<String> hypotheses, List<List<String>> references) {
        if (references.isEmpty()) {
            throw new IllegalArgumentException("at least one reference stream is needed");
        }
        for (List<String> stream : references) {
            if (stream.size() != hypotheses.size()) {
                throw new IllegalArgumentException("a reference stream has " + stream.size()
                        + " lines but there are " + hypotheses.size() + " hypotheses");
            }
        }
    }
}
