package io.troupe.data.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compares every id of {@link HfJsonTokenizer} with the reference ids that Python's
 * {@code tokenizers} computed for the fixture's sentences (bench/tokenizers/make_hf_fixture.py):
 * all-MiniLM-L6-v2's WordPiece (read from the langchain4j jar on the test classpath), a byte-level
 * BPE and a Metaspace BPE.
 */
class HfJsonTokenizerTest {

    private static final String HF = "/io/troupe/data/tokenize/hf/";
    private static final String MINILM = "/all-minilm-l6-v2-tokenizer.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    private static List<JsonNode> fixture;
    private static Path minilmFile;
    private static HfJsonTokenizer minilm;

    @BeforeAll
    static void loadFixture() throws IOException {
        fixture = new ArrayList<>();
        for (String line : resource(HF + "fixture.jsonl").split("\n")) {
            if (!line.isBlank()) {
                fixture.add(JSON.readTree(line));
            }
        }
        minilmFile = copy(MINILM, shared.resolve("minilm-tokenizer.json"));
        minilm = HfJsonTokenizer.load(minilmFile);
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = HfJsonTokenizerTest.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + name + " is missing from the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static Path copy(String name, Path to) throws IOException {
        Files.writeString(to, resource(name));
        return to;
    }

    private static int[] ids(JsonNode row, String field) {
        JsonNode node = row.get(field);
        int[] ids = new int[node.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = node.get(i).intValue();
        }
        return ids;
    }

    private static void assertEveryIdMatches(HfJsonTokenizer tokenizer, String field) {
        assertTrue(fixture.size() >= 200, "the fixture holds " + fixture.size() + " sentences");
        for (JsonNode row : fixture) {
            String text = row.get("text").asText();
            int[] actual = tokenizer.encode(text);
            assertArrayEquals(ids(row, field), actual, () -> field + " ids of " + JSON.valueToTree(text));
            assertEquals(row.get(field + "_decoded").asText(), tokenizer.decode(actual),
                    () -> field + " decoding of " + JSON.valueToTree(text));
        }
    }

    @Test
    void wordPieceIdsMatchTheReferenceForEverySentence() {
        assertEquals("WordPiece", minilm.model());
        assertEveryIdMatches(minilm, "minilm");
    }

    @Test
    void byteLevelBpeIdsMatchTheReferenceForEverySentence() throws IOException {
        HfJsonTokenizer bpe = HfJsonTokenizer.load(copy(HF + "bpe-bytelevel-tokenizer.json", tmp.resolve("b.json")));
        assertEquals("BPE", bpe.model());
        assertEveryIdMatches(bpe, "bytelevel");
    }

    @Test
    void metaspaceBpeIdsMatchTheReferenceForEverySentence() throws IOException {
        HfJsonTokenizer bpe = HfJsonTokenizer.load(copy(HF + "bpe-metaspace-tokenizer.json", tmp.resolve("m.json")));
        assertEveryIdMatches(bpe, "metaspace");
    }

    /** The pure-Java byte-level BPE (vocab.json + merges.txt models) agrees with the library too. */
    @Test
    void javaByteLevelBpeOfTheSameFileMatchesTheReference() throws IOException {
        copy(HF + "bpe-bytelevel-tokenizer.json", tmp.resolve(HfTokenizerFiles.TOKENIZER_JSON));
        Tokenizer java = HfTokenizerFiles.load(tmp);
        assertInstanceOf(HfBpeTokenizer.class, java);
        for (JsonNode row : fixture) {
            String text = row.get("text").asText();
            assertArrayEquals(ids(row, "bytelevel"), java.encode(text), () -> "ids of " + JSON.valueToTree(text));
        }
    }

    /** A model directory whose tokenizer.json is not a byte-level BPE gets the library's tokenizer. */
    @Test
    void modelDirectoryWithAWordPieceTokenizerJsonLoadsIt() throws IOException {
        Files.copy(minilmFile, tmp.resolve(HfTokenizerFiles.TOKENIZER_JSON));
        assertEquals(minilm, HfTokenizerFiles.load(tmp));
    }

    @Test
    void specialTokensVocabularyAndEndOfText() {
        assertEquals(30_522, minilm.vocabSize());
        assertEquals(OptionalInt.of(0), minilm.tokenId("[PAD]"));
        assertEquals(OptionalInt.of(100), minilm.tokenId("[UNK]"));
        assertEquals(OptionalInt.of(101), minilm.tokenId("[CLS]"));
        assertEquals(OptionalInt.of(102), minilm.tokenId("[SEP]"));
        assertEquals(OptionalInt.of(103), minilm.tokenId("[MASK]"));
        assertEquals(OptionalInt.empty(), minilm.tokenId("<|endoftext|>"));
        assertEquals("[CLS]", minilm.token(101));
        assertEquals("##ing", minilm.token(minilm.tokenId("##ing").getAsInt()));
        assertEquals(OptionalInt.of(102), minilm.endOfTextId());
        // No [CLS]/[SEP] around the text, and no truncation to the file's 128.
        int[] ids = minilm.encode("word ".repeat(300));
        assertEquals(300, ids.length);
        assertFalse(ids[0] == 101 || ids[ids.length - 1] == 102);
        assertArrayEquals(new int[] {1996, 103, 2938}, minilm.encode("The [MASK] sat"));
    }

    @Test
    void badIdsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> minilm.decode(new int[] {5, 30_522}));
        assertTrue(e.getMessage().contains("token id 30522 at position 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> minilm.token(-1));
    }

    @Test
    void savesIntoARunDirectoryAndLoadsBackUnchanged() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        Path saved = minilm.save(run);
        assertEquals(Files.readString(minilmFile).strip(), Files.readString(saved).strip());
        Tokenizer back = Tokenizer.load(run);
        HfJsonTokenizer hf = assertInstanceOf(HfJsonTokenizer.class, back);
        assertEquals(HfJsonTokenizer.TYPE, back.type());
        assertEquals(minilm, hf);
        assertEquals(minilm.toJson(), back.toJson());
        String text = fixture.get(4).get("text").asText();
        assertArrayEquals(minilm.encode(text), back.encode(text));
        assertEquals(minilm, Tokenizer.fromJson(minilm.toJson()));
    }

    private Path write(String name, String content) throws IOException {
        Path file = tmp.resolve(name);
        Files.writeString(file, content);
        return file;
    }

    private ObjectNode minilmTree() throws IOException {
        return (ObjectNode) JSON.readTree(Files.readString(minilmFile));
    }

    private static String messageOf(Path file) {
        DataException e = assertThrows(DataException.class, () -> HfJsonTokenizer.load(file));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void missingFileIsNamed() {
        assertTrue(messageOf(tmp.resolve("nope.json")).contains("does not exist"));
    }

    @Test
    void malformedJsonIsNamed() throws IOException {
        assertTrue(messageOf(write("bad.json", "{\"model\": {\"type\": \"WordPiece\",")).contains("not valid JSON"));
        assertTrue(messageOf(write("array.json", "[1, 2]")).contains("not a JSON object"));
        assertTrue(messageOf(write("nomodel.json", "{\"version\": \"1.0\"}")).contains("no \"model\" object"));
    }

    @Test
    void unsupportedModelIsNamed() throws IOException {
        String unigram = "{\"version\":\"1.0\",\"model\":{\"type\":\"Unigram\",\"unk_id\":0,"
                + "\"vocab\":[[\"<unk>\",0.0],[\"a\",-1.0]]}}";
        String message = messageOf(write("unigram.json", unigram));
        assertTrue(message.contains("model type \"Unigram\"") && message.contains("WordPiece and BPE"), message);
    }

    @Test
    void vocabularyWithAGapOrSharedIdIsRefused() throws IOException {
        ObjectNode gap = minilmTree();
        ((ObjectNode) gap.get("model").get("vocab")).put("zzzgap", 40_000);
        assertTrue(messageOf(write("gap.json", gap.toString())).contains("without gaps"));
        ObjectNode shared = minilmTree();
        ((ObjectNode) shared.get("model").get("vocab")).put("zzzdup", 7);
        assertTrue(messageOf(write("dup.json", shared.toString())).contains("share id 7"));
    }

    @Test
    void fileTheLibraryRejectsIsNamedWithItsReason() throws IOException {
        ObjectNode tree = minilmTree();
        tree.putObject("pre_tokenizer").put("type", "NoSuchPreTokenizer");
        String message = messageOf(write("lib.json", tree.toString()));
        assertTrue(message.contains("Hugging Face tokenizers library can read")
                && message.contains("PreTokenizer"), message);
        ((ObjectNode) tree.get("model")).put("unk_token", 5);
        tree.set("pre_tokenizer", minilmTree().get("pre_tokenizer"));
        message = messageOf(write("unk.json", tree.toString()));
        assertTrue(message.contains("expected a string"), message);
    }

    @Test
    void nativeLibraryIsForbiddenToDownload() {
        assertEquals("true", System.getProperty(HfNativeTokenizers.OFFLINE_PROPERTY));
    }
}
