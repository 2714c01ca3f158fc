package io.troupe.data.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.tokenize.CharTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenSplitTest {

    @TempDir
    Path dir;

    @Test
    void firstNinetyPercentTrainsAsInNanoGpt() throws DataException {
        // Tiny Shakespeare's length: nanoGPT prints "train has 1,003,854 tokens, val has 111,540".
        TokenSplit split = TokenSplit.of(sequence(1_115_394), 256);
        assertEquals(1_003_854, split.train().length());
        assertEquals(111_540, split.val().length());
        assertEquals(0, split.train().get(0));
        assertEquals(1_003_853 % 65, split.train().get(1_003_853));
        assertEquals(1_003_854 % 65, split.val().get(0));
    }

    @Test
    void encodesACorpus() throws Exception {
        Path file = dir.resolve("input.txt");
        Files.writeString(file, "abcdefghij".repeat(10));
        TextCorpus corpus = TextCorpus.load(file);
        CharTokenizer tokenizer = CharTokenizer.fromText(corpus.text());
        TokenSplit split = TokenSplit.encode(corpus, tokenizer, 8);
        assertEquals(90, split.train().length());
        assertEquals(10, split.val().length());
        assertEquals(0, split.val().get(0));
        assertEquals(9, split.val().get(9));
    }

    @Test
    void rejectsASplitShorterThanOneWindow() throws DataException {
        // 100 tokens: val has 10, block_size 9 needs 10 (fits), block_size 10 needs 11.
        DataException e = assertThrows(DataException.class, () -> TokenSplit.of(sequence(100), 10));
        assertEquals("the validation split has 10 of 100 tokens but block_size 10 needs at least 11;"
                + " use a longer corpus or a smaller block_size", e.getMessage());
        assertEquals(10, TokenSplit.of(sequence(100), 9).val().length());
        DataException train = assertThrows(DataException.class,
                () -> TokenSplit.of(sequence(100), 0.05, 5));
        assertTrue(train.getMessage().startsWith("the training split has 5 of 100"),
                train.getMessage());
    }

    @Test
    void encodeNamesTheCorpusWhenTheTokenizerDoesNotFit() throws Exception {
        Path file = dir.resolve("input.txt");
        Files.writeString(file, "abcdefghij".repeat(10) + "Z");
        TextCorpus corpus = TextCorpus.load(file);
        DataException e = assertThrows(DataException.class,
                () -> TokenSplit.encode(corpus, CharTokenizer.fromText("abcdefghij"), 4));
        assertTrue(e.getMessage().startsWith("corpus " + file + ": character 'Z' (U+005A)"),
                e.getMessage());
    }

    private static TokenSequence sequence(int n) {
        return TokenSequence.of(IntStream.range(0, n).map(i -> i % 65).toArray(), 65);
    }
}
