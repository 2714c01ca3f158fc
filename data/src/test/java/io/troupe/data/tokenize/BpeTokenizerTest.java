package io.troupe.data.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class BpeTokenizerTest {

    private static final String CORPUS = """
            The king and the queen went to the castle. The queen said: the king is thinking.
            Then the kingdom sang, and the things they thought were things of the king.
            """.repeat(20);

    @Test
    void trainingLearnsFrequentPairsFirstAndRoundTrips() {
        PieceCounts counts = new PieceCounts();
        counts.add(CORPUS);
        BpeTokenizer bpe = BpeTrainer.train(counts, 300, List.of(BpeTokenizer.END_OF_TEXT));
        assertEquals(300, bpe.vocabSize());
        assertEquals(43, bpe.mergeCount());
        // "th"/"he"/" t" dominate this corpus; the first merge is one of the most frequent pairs
        String first = new String(bpe.tokenBytes(256), StandardCharsets.UTF_8);
        assertTrue(List.of(" t", "th", "he", "in").contains(first), first);
        assertEquals(" the", new String(bpe.tokenBytes(bpe.encode(" the")[0]), StandardCharsets.UTF_8));
        assertEquals(1, bpe.encode(" king").length);
        assertEquals(299, bpe.endOfTextId().getAsInt());
        for (String text : List.of(CORPUS, "unseen wörds, 🎭 emoji and\ttabs\r\n", "<|endoftext|> is text", "")) {
            assertEquals(text, bpe.decode(bpe.encode(text)));
        }
        assertTrue(bpe.encode(CORPUS).length < CORPUS.length() / 3);
        assertEquals("<|endoftext|>", bpe.decode(new int[] {299}));
    }

    @Test
    void trainingIsDeterministic() {
        PieceCounts a = new PieceCounts();
        a.add(CORPUS);
        PieceCounts b = new PieceCounts();
        // the same counts arriving in another order
        for (String line : CORPUS.split("(?<=\n)")) {
            b.add(line);
        }
        assertEquals(BpeTrainer.train(a, 280, List.of()), BpeTrainer.train(b, 280, List.of()));
    }

    @Test
    void aSmallCorpusStopsEarly() {
        PieceCounts counts = new PieceCounts();
        counts.add("ab ab ab");
        BpeTokenizer bpe = BpeTrainer.train(counts, 1000, List.of("<|endoftext|>"));
        // pieces "ab" x1 and " ab" x2: merge (a,b) (3 times), then (' ', ab) (2 times), then nothing
        // occurs twice, so training stops at 2 merges instead of 1000 - 257
        assertEquals(2, bpe.mergeCount());
        assertEquals(259, bpe.vocabSize());
        assertArrayEquals(new int[] {256, 257, 257}, bpe.encode("ab ab ab"));
    }

    @Test
    void jsonRoundTripAndValidation() throws DataException {
        PieceCounts counts = new PieceCounts();
        counts.add(CORPUS);
        BpeTokenizer bpe = BpeTrainer.train(counts, 280, List.of("<|endoftext|>", "<|pad|>"));
        Tokenizer back = Tokenizer.fromJson(bpe.toJson());
        assertEquals(bpe, back);
        assertArrayEquals(bpe.encode(CORPUS), back.encode(CORPUS));
        assertEquals(278, back.endOfTextId().getAsInt());
        DataException forward = assertThrows(DataException.class,
                () -> Tokenizer.fromJson("{\"type\":\"bpe\",\"merges\":[[104,256]]}"));
        assertTrue(forward.getMessage().contains("merge 0 [104, 256] must join two tokens with ids below 256"),
                forward.getMessage());
        assertThrows(DataException.class,
                () -> Tokenizer.fromJson("{\"type\":\"bpe\",\"merges\":[[104,101],[104,101]]}"));
        assertThrows(IllegalArgumentException.class, () -> BpeTrainer.train(counts, 256, List.of("<|endoftext|>")));
    }
}
