package io.troupe.data.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import org.junit.jupiter.api.Test;

/** Word lists and the counterfactual swap. */
class CounterfactualTest {
    private static final WordPairs GENDERED = WordPairs.gendered();

    private static String swap(String text) {
        return new Counterfactual(GENDERED, null).swap(text).text();
    }

    @Test
    void theBuiltInListHasAboutFiftyPairsAndMaleFirst() {
        assertTrue(GENDERED.size() >= 50, "pairs: " + GENDERED.size());
        assertTrue(GENDERED.firstWords().contains("he") && GENDERED.secondWords().contains("she"));
        assertTrue(GENDERED.firstWords().contains("king") && GENDERED.secondWords().contains("queen"));
    }

    @Test
    void anOddNumberOfEntriesIsRefusedNamingTheLoneWord() {
        DataException e = assertThrows(DataException.class, () -> WordPairs.parse("# c\nhe she\nking queen\nprince\n", "w.txt"));
        assertTrue(e.getMessage().contains("w.txt has 5 entries, an odd number") && e.getMessage().contains("'prince', line 4"),
                e.getMessage());
        assertThrows(DataException.class, () -> WordPairs.parse("# only a comment\n", "w.txt"));
        assertEquals(2, assertDoesNotThrow("a,b c d").size());
    }

    private static WordPairs assertDoesNotThrow(String text) {
        try {
            return WordPairs.parse(text, "x");
        } catch (DataException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void swapsBothWaysKeepingCase() {
        assertEquals("She said the King and his wife were here.", swap("He said the Queen and her husband were here."));
        assertEquals("THE WOMAN", swap("THE MAN"));
        assertEquals("Men and boys", swap("Women and girls"));
        Counterfactual.Swapped none = new Counterfactual(GENDERED, null).swap("The cat sat on the mat.");
        assertEquals(0, none.swaps());
        assertEquals("The cat sat on the mat.", none.text());
        assertEquals(4, new Counterfactual(GENDERED, null).swap("He said the Queen and her husband").swaps());
    }

    @Test
    void herBecomesHisBeforeANounAndHimOtherwise() {
        assertEquals("he took his book", swap("she took her book"));
        assertEquals("she saw him.", swap("he saw her."));
        assertEquals("she gave it to him and left", swap("he gave it to her and left"));
        assertEquals("she told him the news", swap("he told her the news"));
        assertEquals("the book is hers", swap("the book is his"));
        assertEquals("her own book", swap("his own book"));
        // The documented failure: a noun object after "her" reads as a possessive.
        assertEquals("he gave his flowers", swap("she gave her flowers"));
    }

    @Test
    void namesAreSwappedOnlyWithANameList() throws Exception {
        assertEquals("she met John", swap("he met John"));
        WordPairs names = WordPairs.parse("john mary\n", "names");
        assertEquals("she met Mary", new Counterfactual(GENDERED, names).swap("he met John").text());
    }
}
