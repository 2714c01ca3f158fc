package io.troupe.data.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import org.junit.jupiter.api.Test;

class CleanerTest {

    private static final String PROSE = "The quick brown fox jumps over the lazy dog near the river bank.";

    private final Counters counters = new Counters();

    /** Transforms on, every filter off: only what a test turns on can drop a document. */
    private static CleanSettings transformsOnly() {
        return CleanSettings.normalizeOnly();
    }

    @Test
    void lineEndingsBecomeLf() {
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NONE, false, false, false, 0, 1, 0, 0, 1, 0, 0));
        assertEquals("a\nb\nc\n\nd", cleaner.clean("a\r\nb\rc\r\n\rd", counters));
        assertEquals(1, counters.get(Counter.LINE_ENDINGS_DOCS));
        cleaner.clean("no carriage returns\n", counters);
        assertEquals(1, counters.get(Counter.LINE_ENDINGS_DOCS));
    }

    @Test
    void nfcComposesAndNfkcAlsoFoldsCompatibilityForms() {
        String decomposed = "cafe\u0301 \uFB01le"; // e + combining acute; the "fi" ligature
        String nfc = new Cleaner(settings(Normalization.NFC)).clean(decomposed, counters);
        assertEquals("caf\u00E9 \uFB01le", nfc);
        assertEquals(1, counters.get(Counter.UNICODE_DOCS));
        String nfkc = new Cleaner(settings(Normalization.NFKC)).clean(decomposed, counters);
        assertEquals("caf\u00E9 file", nfkc);
        assertEquals(2, counters.get(Counter.UNICODE_DOCS));
        // already normalized text is not counted
        new Cleaner(settings(Normalization.NFC)).clean("caf\u00E9 plain", counters);
        assertEquals(2, counters.get(Counter.UNICODE_DOCS));
    }

    @Test
    void controlCharactersAreRemovedButTabsAndNewlinesStay() {
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NONE, true, false, false, 0, 1, 0, 0, 1, 0, 0));
        assertEquals("a\tb\nc[0mdx", cleaner.clean("a\tb\nc\u0000\u001B[0md\u0085x\u007F", counters));
        assertEquals(1, counters.get(Counter.CONTROL_DOCS));
        assertEquals(4, counters.get(Counter.CONTROL_CHARS));
    }

    @Test
    void whitespaceIsNormalized() {
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NONE, false, true, false, 0, 1, 0, 0, 1, 0, 0));
        String messy = "\n\n  indented\u00A0line   \n\n\n\nnext\u3000word\t\u2028last  \n\n";
        assertEquals("  indented line\n\nnext word\nlast", cleaner.clean(messy, counters));
        assertEquals(1, counters.get(Counter.WHITESPACE_DOCS));
        assertSame(PROSE, cleaner.clean(PROSE, counters));
        assertEquals(1, counters.get(Counter.WHITESPACE_DOCS));
    }

    @Test
    void theWhitespaceFastPathAgreesWithTheRewrite() {
        char[] alphabet = {' ', '\t', '\n', 'a', 'b', '\u00A0', '\u2028', '\u3000', 'é'};
        java.util.Random random = new java.util.Random(5);
        for (int trial = 0; trial < 20_000; trial++) {
            StringBuilder s = new StringBuilder();
            for (int i = random.nextInt(12); i > 0; i--) {
                s.append(alphabet[random.nextInt(alphabet.length)]);
            }
            String text = s.toString();
            assertEquals(!WhitespaceNormalizer.normalize(text).equals(text), WhitespaceNormalizer.needsWork(text),
                    () -> "'" + text + "'");
        }
    }

    @Test
    void lowercasingIsOptional() {
        Cleaner off = new Cleaner(transformsOnly());
        assertEquals("Hello WORLD", off.clean("Hello WORLD", counters));
        Cleaner on = new Cleaner(new CleanSettings(Normalization.NFC, true, true, true, 0, 1, 0, 0, 1, 0, 0));
        assertEquals("hello world \u0131i", on.clean("Hello WORLD \u0131I", counters));
        assertEquals(1, counters.get(Counter.LOWERCASE_DOCS));
    }

    @Test
    void longLinesAreRemoved() {
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NONE, false, false, false, 10, 1, 0, 0, 1, 0, 0));
        assertEquals("short\nok line\nend", cleaner.clean("short\n" + "x".repeat(11) + "\nok line\n"
                + "y".repeat(50) + "\nend", counters));
        assertEquals(1, counters.get(Counter.LONG_LINE_DOCS));
        assertEquals(2, counters.get(Counter.LONG_LINES));
    }

    @Test
    void lengthFiltersDropAndCount() {
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NFC, true, true, false, 0, 10, 30, 0, 1, 0, 0));
        assertNull(cleaner.clean("   \n\n  ", counters)); // empty after cleaning
        assertNull(cleaner.clean("too short", counters));
        assertNull(cleaner.clean("this one is much longer than thirty characters", counters));
        assertEquals("just right, twenty", cleaner.clean("just right, twenty", counters));
        assertEquals(2, counters.get(Counter.FILTER_TOO_SHORT));
        assertEquals(1, counters.get(Counter.FILTER_TOO_LONG));
    }

    @Test
    void alphaFractionFilterDropsTablesOfNumbers() {
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NFC, true, true, false, 0, 1, 0, 0.6, 1, 0, 0));
        assertNull(cleaner.clean("12 34 56 78 90 | 11 22 33 | total 999", counters));
        assertEquals(PROSE, cleaner.clean(PROSE, counters));
        assertEquals(1, counters.get(Counter.FILTER_ALPHA));
    }

    @Test
    void repeatedLinesFilterDropsBoilerplate() {
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NFC, true, true, false, 0, 1, 0, 0, 0.3, 0, 0));
        String menu = "Home\nAbout us\nHome\nAbout us\nHome\nContact";
        // 6 lines, 3 repeat an earlier one: 0.5 > 0.3
        assertNull(cleaner.clean(menu, counters));
        String verse = "Tyger Tyger, burning bright,\nIn the forests of the night;\nWhat immortal hand or eye,\n"
                + "Tyger Tyger, burning bright,";
        assertEquals(verse, cleaner.clean(verse, counters)); // 1 of 4 = 0.25
        assertEquals(1, counters.get(Counter.FILTER_REPEATED_LINES));
        TextStats stats = TextStats.of(menu);
        assertEquals(6, stats.lines());
        assertEquals(3, stats.duplicateLines());
    }

    @Test
    void meanWordLengthFilterDropsFragmentsAndGluedWords() {
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NFC, true, true, false, 0, 1, 0, 0, 1, 3, 10));
        assertNull(cleaner.clean("a b c d e f g h i j", counters)); // mean 1
        assertNull(cleaner.clean("https://example.com/some/very/long/path?with=query", counters));
        assertEquals(PROSE, cleaner.clean(PROSE, counters));
        assertEquals(2, counters.get(Counter.FILTER_WORD_LENGTH));
    }

    @Test
    void theFirstFailingFilterCountsTheDocument() {
        // Too short AND no letters: only the length filter (first) counts it.
        Cleaner cleaner = new Cleaner(new CleanSettings(Normalization.NFC, true, true, false, 0, 50, 0, 0.6, 0.3, 3, 10));
        assertNull(cleaner.clean("123 456", counters));
        assertEquals(1, counters.get(Counter.FILTER_TOO_SHORT));
        assertEquals(0, counters.get(Counter.FILTER_ALPHA));
        assertEquals(0, counters.get(Counter.FILTER_WORD_LENGTH));
    }

    @Test
    void statsCountLettersWordsAndLines() {
        TextStats s = TextStats.of("Ab1 cd!\n\n  \nAb1 cd!\nxyz");
        assertEquals(15, s.nonSpace());
        assertEquals(11, s.letters());
        assertEquals(5, s.words());
        assertEquals(3, s.lines());
        assertEquals(1, s.duplicateLines());
        assertEquals(3.0, s.meanWordLength(), 1e-12);
        assertEquals(11 / 15.0, s.alphaFraction(), 1e-12);
    }

    private static CleanSettings settings(Normalization normalization) {
        return new CleanSettings(normalization, false, false, false, 0, 1, 0, 0, 1, 0, 0);
    }
}
