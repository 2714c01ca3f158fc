package io.troupe.ops.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading CrowS-Pairs and plain pairs files, and the file:line errors of bad ones. */
class PairsFileTest {
    private static final Path CROWS = Path.of("../../shared/data/crows-pairs/crows_pairs_anonymized.csv");

    @TempDir
    Path tmp;

    private Path file(String name, String text) throws Exception {
        return Files.writeString(tmp.resolve(name), text);
    }

    @Test
    void readsTheWholeCrowsPairsFileWithItsCountsFromTheReadme() throws Exception {
        List<SentencePair> pairs = PairsFile.read(CROWS, PairsFormat.CROWS);
        assertEquals(1508, pairs.size());
        Map<String, Long> directions = pairs.stream().collect(Collectors.groupingBy(SentencePair::direction, Collectors.counting()));
        assertEquals(Map.of("stereo", 1290L, "antistereo", 218L), directions);
        Map<String, Long> categories = pairs.stream().collect(Collectors.groupingBy(SentencePair::category, Collectors.counting()));
        assertEquals(262L, categories.get("gender"));
        assertEquals(516L, categories.get("race-color"));
        assertEquals(9, categories.size());
        // Row index 1293 holds a quoted newline: the row after it starts one line later than its index says.
        assertEquals(2, pairs.get(0).line());
        assertEquals(1509 + 1, pairs.get(1507).line());
    }

    @Test
    void crowsRowsKeepSentMoreAsTheMoreStereotypicalSentenceInBothDirections() throws Exception {
        Path f = file("c.csv", ",sent_more,sent_less,stereo_antistereo,bias_type\n"
                + "0,He is a doctor.,She is a doctor.,antistereo,gender\n"
                + "1,\"She cooks, always.\",\"He cooks, always.\",stereo,gender\n");
        List<SentencePair> pairs = PairsFile.read(f, PairsFormat.CROWS);
        assertEquals(new SentencePair(2, "He is a doctor.", "She is a doctor.", "gender", "antistereo"), pairs.get(0));
        assertEquals(new SentencePair(3, "She cooks, always.", "He cooks, always.", "gender", "stereo"), pairs.get(1));
    }

    @Test
    void readsCsvAndTsvPairsWithAndWithoutCategory() throws Exception {
        List<SentencePair> csv = PairsFile.read(file("p.csv", "more,less\n\"a, b\",c\n\nd,e\n"), PairsFormat.PAIRS);
        assertEquals(List.of(new SentencePair(2, "a, b", "c", "all", "stereo"), new SentencePair(4, "d", "e", "all", "stereo")), csv);
        List<SentencePair> tsv = PairsFile.read(file("p.txt", "category\tmore\tless\njobs\the, a nurse\tshe, a nurse\n"), PairsFormat.PAIRS);
        assertEquals(List.of(new SentencePair(2, "he, a nurse", "she, a nurse", "jobs", "stereo")), tsv);
    }

    @Test
    void badFilesNameTheFileAndLine() throws Exception {
        Path noLess = file("a.csv", "more,fewer\nx,y\n");
        assertMessage(noLess + ":1: the header has no 'less' column", () -> PairsFile.read(noLess, PairsFormat.PAIRS));
        Path emptyLess = file("b.csv", "more,less\nx,y\n\"multi\nline\",\" \"\n");
        assertMessage(emptyLess + ":3: the sentence in column 'less' is empty", () -> PairsFile.read(emptyLess, PairsFormat.PAIRS));
        Path shortRow = file("c.csv", "more,less,category\nx,y,z\nx\n");
        assertMessage(shortRow + ":3: the row has 1 column(s), so column 'less'", () -> PairsFile.read(shortRow, PairsFormat.PAIRS));
        Path direction = file("d.csv", "sent_more,sent_less,stereo_antistereo,bias_type\nx,y,pro,age\n");
        assertMessage(direction + ":2: stereo_antistereo is 'pro'", () -> PairsFile.read(direction, PairsFormat.CROWS));
        Path plainAsCrows = file("e.csv", "more,less\nx,y\n");
        assertMessage("or pass --format pairs", () -> PairsFile.read(plainAsCrows, PairsFormat.CROWS));
        Path headerOnly = file("f.csv", "more,less\n");
        assertMessage("has a header but no pairs", () -> PairsFile.read(headerOnly, PairsFormat.PAIRS));
        assertMessage("does not exist", () -> PairsFile.read(tmp.resolve("missing.csv"), PairsFormat.PAIRS));
        Path unclosed = file("g.csv", "more,less\n\"never closed,b\n");
        assertMessage(unclosed + " cannot be read as CSV", () -> PairsFile.read(unclosed, PairsFormat.PAIRS));
    }

    private static void assertMessage(String fragment, org.junit.jupiter.api.function.Executable call) {
        DataException e = assertThrows(DataException.class, call);
        assertTrue(e.getMessage().contains(fragment), () -> "expected '" + fragment + "' in: " + e.getMessage());
        // One statement of the problem, not a row error wrapped in a parse error.
        assertTrue(e.getMessage().startsWith(fragment) || !fragment.contains(":"), e.getMessage());
    }
}
