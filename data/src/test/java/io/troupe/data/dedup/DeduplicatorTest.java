package io.troupe.data.dedup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DeduplicatorTest {

    private final Counters counters = new Counters();

    @Test
    void exactCopiesAreDroppedAndCounted() {
        Fingerprinter f = new Fingerprinter(new DedupSettings(true, false, 5, 128, 0.8, 1 << 20));
        Deduplicator dedup = new Deduplicator(new DedupSettings(true, false, 5, 128, 0.8, 1 << 20), counters);
        assertTrue(dedup.keep(f.of("one document")));
        assertTrue(dedup.keep(f.of("another document")));
        assertFalse(dedup.keep(f.of("one document")));
        assertTrue(dedup.keep(f.of("one document.")));
        assertEquals(1, counters.get(Counter.EXACT_DUPLICATES));
        assertEquals(0, counters.get(Counter.NEAR_DUPLICATES));
    }

    @Test
    void nearCopiesAreDroppedButDifferentTextsKept() {
        Fingerprinter f = new Fingerprinter(DedupSettings.defaults());
        Deduplicator dedup = new Deduplicator(DedupSettings.defaults(), counters);
        Random random = new Random(1);
        List<String> base = words(random, 400);
        String original = String.join(" ", base);
        // 4 of 400 words changed: Jaccard of 5-shingles about 0.9, above the 0.8 threshold
        List<String> edited = new ArrayList<>(base);
        for (int i : new int[] {50, 150, 250, 350}) {
            edited.set(i, "CHANGED");
        }
        // Every 4th word changed: Jaccard near 0.05, far below
        List<String> rewritten = new ArrayList<>(base);
        for (int i = 0; i < rewritten.size(); i += 4) {
            rewritten.set(i, "other" + i);
        }
        assertTrue(dedup.keep(f.of(original)));
        assertFalse(dedup.keep(f.of(String.join(" ", edited))));
        // case and punctuation do not hide a copy
        assertFalse(dedup.keep(f.of(original.toUpperCase().replace(" ", ", "))));
        assertTrue(dedup.keep(f.of(String.join(" ", rewritten))));
        assertTrue(dedup.keep(f.of(String.join(" ", words(random, 400)))));
        assertEquals(2, counters.get(Counter.NEAR_DUPLICATES));
        assertEquals(0, counters.get(Counter.EXACT_DUPLICATES));
    }

    @Test
    void minHashEstimatesJaccardSimilarity() {
        // word sets {w0..w(n-1)} and {w(s)..w(s+n-1)}: Jaccard (n - s) / (n + s); shingles of one word
        MinHasher hasher = new MinHasher(256, 1, 7);
        int[][] cases = {{100, 50}, {1000, 111}, {2000, 1000}, {40, 4}};
        for (int[] c : cases) {
            int n = c[0];
            int shift = c[1];
            StringBuilder a = new StringBuilder();
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < n; i++) {
                a.append("w").append(i).append(' ');
                b.append("w").append(i + shift).append(' ');
            }
            int[] sa = hasher.signature(a.toString());
            int[] sb = hasher.signature(b.toString());
            int agree = 0;
            for (int i = 0; i < sa.length; i++) {
                agree += sa[i] == sb[i] ? 1 : 0;
            }
            double jaccard = (double) (n - shift) / (n + shift);
            assertEquals(jaccard, agree / 256.0, 0.1, n + " words, shift " + shift);
        }
        assertArrayEquals(hasher.signature("Same words, same order."), hasher.signature("same WORDS same order"));
        assertEquals(null, hasher.signature("... !!! ---"));
    }

    @Test
    void lshParametersPutTheSCurveAtTheThreshold() {
        LshParameters p = LshParameters.optimal(0.8, 128);
        assertTrue(p.bands() * p.rows() <= 128, p.toString());
        assertTrue(p.candidateProbability(0.95) > 0.95, p.toString());
        assertTrue(p.candidateProbability(0.5) < 0.1, p.toString());
        LshParameters loose = LshParameters.optimal(0.5, 128);
        assertTrue(loose.candidateProbability(0.6) > p.candidateProbability(0.6));
    }

    @Test
    void aFullIndexStillAnswersButStopsGrowing() {
        LongHashSet set = new LongHashSet(1024); // 128 slots
        int added = 0;
        for (long k = 0; k < 1000; k++) {
            if (set.add(k * 7919) == LongHashSet.Add.ADDED) {
                added++;
            }
        }
        assertEquals(108, added); // 85% of 128
        assertTrue(set.contains(0));
        assertTrue(set.contains(7919));
        assertFalse(set.contains(999 * 7919L));
        assertEquals(LongHashSet.Add.PRESENT, set.add(7919));
        assertEquals(LongHashSet.Add.FULL, set.add(-1));
        assertEquals(1024, set.bytes());

        Deduplicator dedup = new Deduplicator(new DedupSettings(true, false, 5, 16, 0.8, 1 << 16), counters);
        Fingerprinter f = new Fingerprinter(new DedupSettings(true, false, 5, 16, 0.8, 1 << 16));
        for (int i = 0; i < 8000; i++) {
            dedup.keep(f.of("document " + i));
        }
        assertEquals(8000 - (int) (8192 * 0.85), counters.get(Counter.DEDUP_NOT_INDEXED));
    }

    private static List<String> words(Random random, int n) {
        List<String> words = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            words.add("w" + random.nextInt(100_000));
        }
        return words;
    }
}
