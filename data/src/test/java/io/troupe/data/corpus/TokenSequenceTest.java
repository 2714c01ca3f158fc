package io.troupe.data.corpus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TokenSequenceTest {

    @Test
    void smallVocabulariesAreStoredAsUint16WithoutLoss() {
        TokenSequence tokens = TokenSequence.of(new int[] {0, 65535, 50256, 7}, 65536);
        assertInstanceOf(Uint16TokenSequence.class, tokens);
        assertEquals(4, tokens.length());
        assertEquals(65535, tokens.get(1));
        assertEquals(50256, tokens.get(2));
        long[] out = new long[6];
        tokens.copyTo(1, out, 2, 3);
        assertArrayEquals(new long[] {0, 0, 65535, 50256, 7, 0}, out);
    }

    @Test
    void largeVocabulariesUseInts() {
        TokenSequence tokens = TokenSequence.of(new int[] {69999, 3}, 70000);
        assertInstanceOf(IntTokenSequence.class, tokens);
        assertEquals(69999, tokens.get(0));
        long[] out = new long[2];
        tokens.copyTo(0, out, 0, 2);
        assertArrayEquals(new long[] {69999, 3}, out);
    }

    @Test
    void slicesAreViews() {
        for (int vocab : new int[] {10, 100_000}) {
            TokenSequence tokens = TokenSequence.of(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, vocab);
            TokenSequence middle = tokens.slice(3, 8).slice(1, 4);
            assertEquals(3, middle.length());
            assertEquals(4, middle.get(0));
            long[] out = new long[3];
            middle.copyTo(0, out, 0, 3);
            assertArrayEquals(new long[] {4, 5, 6}, out);
            assertThrows(IndexOutOfBoundsException.class, () -> middle.get(3));
            assertThrows(IndexOutOfBoundsException.class, () -> middle.copyTo(1, out, 0, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> middle.copyTo(0, out, 1, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> tokens.slice(5, 11));
        }
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TokenSequence.of(new int[] {1, 65}, 65));
        assertEquals("token 65 at position 1 is outside the vocabulary [0, 65)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TokenSequence.of(new int[] {-1}, 65));
    }
}
