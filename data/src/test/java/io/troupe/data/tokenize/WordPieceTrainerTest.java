package io.troupe.data.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WordPieceTrainerTest {
    private static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");

    private static PieceCounts words;
    private static HfJsonTokenizer trained;

    @BeforeAll
    static void train() throws IOException {
        words = PieceCounts.bertWords();
        words.add(Files.readString(SHAKESPEARE).substring(0, 300_000));
        trained = WordPieceTrainer.train(words, 2000);
    }

    @Test
    void bertWordsLowercaseStripAccentsAndSplitPunctuationAndCjk() {
        List<String> out = new ArrayList<>();
        BertWords.forEachWord("Héllo, WORLD! 日本 don't\u00a0x$5", out::add);
        assertEquals(List.of("hello", ",", "world", "!", "日", "本", "don", "'", "t", "x", "$", "5"), out);
    }

    @Test
    void vocabularyHasBertSpecialsThenCharactersThenPieces() {
        assertEquals(2000, trained.vocabSize());
        assertEquals("WordPiece", trained.model());
        for (int id = 0; id < WordPieceTrainer.SPECIAL_TOKENS.size(); id++) {
            assertEquals(OptionalInt.of(id), trained.tokenId(WordPieceTrainer.SPECIAL_TOKENS.get(id)));
        }
        assertEquals(OptionalInt.of(3), trained.endOfTextId(), "[SEP] ends a document");
        for (int id = 0; id < trained.vocabSize(); id++) {
            String token = trained.token(id);
            // A merge joins "a" + "##b" into "ab": "##" only ever leads a continuation piece.
            assertFalse(token.indexOf("##", 1) >= 0, "token " + id + " '" + token + "'");
        }
        assertTrue(trained.tokenId("the").isPresent() && trained.tokenId("king").isPresent());
        assertTrue(trained.tokenId("##e").isPresent());
    }

    @Test
    void encodesTheCorpusCompactlyWithFewUnknowns() throws IOException {
        String text = Files.readString(SHAKESPEARE).substring(400_000, 440_000);
        int[] ids = trained.encode(text);
        int[] wordCount = {0};
        BertWords.forEachWord(text, w -> wordCount[0]++);
        double perWord = (double) ids.length / wordCount[0];
        long unknown = java.util.Arrays.stream(ids).filter(id -> id == 1).count();
        assertTrue(perWord < 1.3, "tokens per word " + perWord);
        assertEquals(0, unknown, "held-out Shakespeare has only characters the alphabet holds");
        // Decoding gives the normalised words back.
        assertEquals("first citizen : before we proceed any further, hear me speak.",
                trained.decode(trained.encode("First Citizen: Before we proceed any further, hear me speak.")));
    }

    @Test
    void trainingIsDeterministicAndRoundTripsThroughJson() throws Exception {
        HfJsonTokenizer again = WordPieceTrainer.train(words, 2000);
        assertEquals(trained.toJson(), again.toJson());
        assertEquals(trained, Tokenizer.fromJson(trained.toJson()));
    }

    @Test
    void aSmallVocabularyKeepsTheMostFrequentCharacters() {
        PieceCounts few = PieceCounts.bertWords();
        few.add("ab ab ab ac zq");
        HfJsonTokenizer t = WordPieceTrainer.train(few, 7);
        assertEquals(7, t.vocabSize());
        assertEquals("a", t.token(5), "the most frequent symbol first");
        assertThrows(IllegalArgumentException.class, () -> WordPieceTrainer.train(few, 5));
        assertThrows(IllegalArgumentException.class, () -> WordPieceTrainer.train(PieceCounts.bertWords(), 100));
    }
}
