package io.troupe.data.pairs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.errors.TroupeException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HashSplitTest {
    static final Path TATOEBA = Path.of("../../shared/data/parallel-eng-fra");
    static final List<Path> PARTS = List.of(TATOEBA.resolve("fra.part1.txt"), TATOEBA.resolve("fra.part2.txt"),
            TATOEBA.resolve("fra.part3.txt"));

    @Test
    void bucketIsPythonsMd5IntegerModulo100() {
        // int(hashlib.md5(s.encode("utf-8")).hexdigest(), 16) % 100, computed in Python
        assertEquals(19, HashSplit.bucket("Go."));
        assertEquals(90, HashSplit.bucket("How are you?"));
        assertEquals(60, HashSplit.bucket("Comment allez-vous\u202f?"));
        assertEquals(86, HashSplit.bucket("Hello world"));
        assertEquals(66, HashSplit.bucket(""));
        HashSplit s = HashSplit.parse("hash-en:90/5/5");
        assertEquals(HashSplit.Part.TRAIN, s.partOf("Go."));
        assertEquals(HashSplit.Part.VAL, s.partOf("How are you?"));
        assertEquals("hash-en:90/5/5", s.toString());
    }

    @Test
    void badSpecsAreNamed() {
        assertMessage("hash-en:90/5/4", "the percentages sum to 99, not 100");
        assertMessage("hash-en:90/10", "needs three percentages");
        assertMessage("random:90/5/5", "is not a hash split");
        assertMessage("hash-en:90/x/5", "'x' is not a whole percentage");
        assertMessage("hash-:90/5/5", "names no language");
        assertMessage("hash-en:0/50/50", "train needs a share above 0");
    }

    private static void assertMessage(String spec, String part) {
        DataException e = assertThrows(DataException.class, () -> HashSplit.parse(spec));
        assertTrue(e.getMessage().contains(part), e.getMessage());
        assertEquals(TroupeException.Kind.CONFIG, e.kind());
        assertFalse(e.getMessage().contains("\n"));
    }

    /** The data README's counts, and no English sentence in two splits. */
    @Test
    void tatoebaSplitsAsTheReadmeSaysAndAlternatesStayTogether() {
        PairReader.Result read = new PairReader(1, 2, 0, false).read(PARTS);
        assertEquals(142_787, read.pairs().size());
        HashSplit split = HashSplit.parse("hash-en:90/5/5");
        Map<HashSplit.Part, Integer> counts = new EnumMap<>(HashSplit.Part.class);
        Map<String, HashSplit.Part> seen = new HashMap<>();
        for (SentencePair pair : read.pairs()) {
            HashSplit.Part p = split.partOf(pair.source());
            counts.merge(p, 1, Integer::sum);
            HashSplit.Part before = seen.putIfAbsent(pair.source(), p);
            assertTrue(before == null || before == p, pair.source());
        }
        assertEquals(128_614, counts.get(HashSplit.Part.TRAIN));
        assertEquals(7_168, counts.get(HashSplit.Part.VAL));
        assertEquals(7_005, counts.get(HashSplit.Part.TEST));
    }
}
