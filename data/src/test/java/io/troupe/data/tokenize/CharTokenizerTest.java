package io.troupe.data.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.troupe.data.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CharTokenizerTest {

    private static final Path TINY_SHAKESPEARE =
            Path.of("../../shared/data/tinyshakespeare/input.txt"); // the repository sits beside shared/

    @TempDir
    Path dir;

    @Test
    void vocabularyIsSortedDistinctCodePoints() {
        CharTokenizer tokenizer = CharTokenizer.fromText("hello, world\n");
        // sorted(set("hello, world\n")) == ['\n', ' ', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
        assertEquals(10, tokenizer.vocabSize());
        assertArrayEquals(new int[] {5, 4, 6, 6, 7, 2, 1, 9, 7, 8, 6, 3, 0},
                tokenizer.encode("hello, world\n"));
    }

    @Test
    void decodeInvertsEncodeIncludingCharactersOutsideTheBmp() {
        String text = "naïve 🎭 Troupe\tplays 🎭!";
        CharTokenizer tokenizer = CharTokenizer.fromText(text);
        int[] ids = tokenizer.encode(text);
        assertEquals(text.codePointCount(0, text.length()), ids.length);
        assertEquals(text, tokenizer.decode(ids));
        // the emoji is the largest code point, so the last id
        assertEquals(tokenizer.vocabSize() - 1, tokenizer.encode("🎭")[0]);
    }

    @Test
    void tinyShakespeareHas65Characters() throws IOException {
        assumeTrue(Files.isRegularFile(TINY_SHAKESPEARE), "Tiny Shakespeare not present");
        String text = Files.readString(TINY_SHAKESPEARE);
        CharTokenizer tokenizer = CharTokenizer.fromText(text);
        assertEquals(65, tokenizer.vocabSize());
        assertEquals("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                tokenizer.decode(IntStream.range(0, 65).toArray()));
        assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
    }

    @Test
    void unknownCharacterIsNamedWithItsPosition() {
        CharTokenizer tokenizer = CharTokenizer.fromText("abc");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> tokenizer.encode("abé"));
        assertTrue(e.getMessage().contains("'é' (U+00E9) at index 2"), e.getMessage());
        IllegalArgumentException newline =
                assertThrows(IllegalArgumentException.class, () -> tokenizer.encode("a\n"));
        assertTrue(newline.getMessage().contains("character U+000A at index 1"),
                newline.getMessage());
    }

    @Test
    void decodeRejectsIdsOutsideTheVocabulary() {
        CharTokenizer tokenizer = CharTokenizer.fromText("abc");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> tokenizer.decode(new int[] {0, 3}));
        assertTrue(e.getMessage().contains("token id 3 at position 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {-1}));
    }

    @Test
    void emptyTextHasNoVocabulary() {
        assertThrows(IllegalArgumentException.class, () -> CharTokenizer.fromText(""));
    }

    @Test
    void jsonRoundTripDispatchesOnType() throws DataException {
        CharTokenizer tokenizer = CharTokenizer.fromText("To be, or not to be\n\"quoted\"\\🎭");
        String json = tokenizer.toJson();
        assertTrue(json.startsWith("{\"type\":\"char\",\"vocab\":[\"\\n\",\" \",\"\\\"\""), json);
        Tokenizer back = Tokenizer.fromJson(json);
        assertEquals(tokenizer, back);
        assertEquals(CharTokenizer.TYPE, back.type());
    }

    @Test
    void saveAndLoadThroughTheRunDirectory() throws DataException, IOException {
        CharTokenizer tokenizer = CharTokenizer.fromText("First Citizen:\n");
        Path file = tokenizer.save(dir);
        assertEquals(dir.resolve("tokenizer.json"), file);
        assertEquals(tokenizer, Tokenizer.load(dir));
        assertEquals(tokenizer, Tokenizer.load(file));

        CharTokenizer other = CharTokenizer.fromText("xyz");
        other.save(dir);
        assertEquals(other, Tokenizer.load(file));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary files are left behind");
        }
    }

    @Test
    void loadNamesTheProblem() throws IOException {
        DataException missing =
                assertThrows(DataException.class, () -> Tokenizer.load(dir.resolve("nope.json")));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());

        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"type\":\"bpe-from-the-future\"}");
        DataException unknown = assertThrows(DataException.class, () -> Tokenizer.load(file));
        assertTrue(unknown.getMessage().contains("unknown type \"bpe-from-the-future\""),
                unknown.getMessage());
        assertTrue(unknown.getMessage().contains(file.toString()), unknown.getMessage());

        Files.writeString(file, "{\"type\":\"char\",\"vocab\":[\"a\",");
        DataException malformed = assertThrows(DataException.class, () -> Tokenizer.load(file));
        assertTrue(malformed.getMessage().contains("not valid JSON"), malformed.getMessage());

        Files.writeString(file, "[1,2]");
        assertThrows(DataException.class, () -> Tokenizer.load(file));
        Files.writeString(file, "{\"vocab\":[\"a\"]}");
        DataException noType = assertThrows(DataException.class, () -> Tokenizer.load(file));
        assertTrue(noType.getMessage().contains("no \"type\""), noType.getMessage());
    }

    @Test
    void jsonVocabularyMustBeSortedSingleCharacters() {
        DataException unsorted = assertThrows(DataException.class,
                () -> Tokenizer.fromJson("{\"type\":\"char\",\"vocab\":[\"b\",\"a\"]}"));
        assertTrue(unsorted.getMessage().contains("vocab entry 1 'a' (U+0061)"),
                unsorted.getMessage());
        assertThrows(DataException.class,
                () -> Tokenizer.fromJson("{\"type\":\"char\",\"vocab\":[\"a\",\"a\"]}"));
        assertThrows(DataException.class,
                () -> Tokenizer.fromJson("{\"type\":\"char\",\"vocab\":[\"ab\"]}"));
        assertThrows(DataException.class,
                () -> Tokenizer.fromJson("{\"type\":\"char\",\"vocab\":[7]}"));
        assertThrows(DataException.class,
                () -> Tokenizer.fromJson("{\"type\":\"char\",\"vocab\":[]}"));
    }
}
