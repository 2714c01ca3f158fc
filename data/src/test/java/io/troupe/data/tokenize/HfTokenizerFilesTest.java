package io.troupe.data.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerFilesTest {
    private static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");

    @TempDir
    Path tmp;

    /**
     * A hand-made byte-level vocabulary: the 256 byte tokens with ids in reverse byte order (so
     * ids are not bytes), then the merges' tokens and {@code <|endoftext|>}.
     */
    private static Map<String, Integer> smallVocab() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), 255 - b);
        }
        vocab.put("ab", 256);
        vocab.put("bc", 257);
        vocab.put("abc", 258);
        vocab.put("Ġa", 259);
        vocab.put("<|endoftext|>", 260);
        return vocab;
    }

    private static final List<String> SMALL_MERGES = List.of("a b", "b c", "a bc", "Ġ a");

    private static int id(char c) {
        return 255 - c; // an ASCII letter's byte token, in smallVocab's reversed order
    }

    @Test
    void mergesApplyByTheirOwnRankNotByTheIdOfTheResult() {
        HfBpeTokenizer t = HfBpeTokenizer.of(smallVocab(), SMALL_MERGES);
        // "abc": (a,b) has rank 0, (b,c) rank 1: a b -> "ab c"; (ab, c) is no merge, so it stays.
        // A rank-of-result BPE (tiktoken, jtokkit) would go on to "abc" (id 258), which is in the vocabulary.
        assertArrayEquals(new int[] {256, id('c')}, t.encode("abc"));
        assertArrayEquals(new int[] {257}, t.encode("bc"));
        // " abc" is one piece Ġ a b c: (a,b) rank 0 beats (Ġ,a) rank 3 -> Ġ ab c.
        assertArrayEquals(new int[] {255 - 0x20, 256, id('c')}, t.encode(" abc"));
        // "abca bc" is the pieces "abca" and " bc": ab c a | Ġ bc.
        assertArrayEquals(new int[] {256, id('c'), id('a'), 255 - ' ', 257}, t.encode("abca bc"));
        assertArrayEquals(new int[] {259}, t.encode(" a"));
        assertEquals(260, t.endOfTextId().orElseThrow());
        assertEquals(261, t.vocabSize());
    }

    @Test
    void decodingRestoresAnyTextAndTheJsonRoundTrips() {
        HfBpeTokenizer t = HfBpeTokenizer.of(smallVocab(), SMALL_MERGES);
        String text = "abc, h\u00e9llo \ud83d\ude00\n\tabcabc <|endoftext|>";
        assertEquals(text, t.decode(t.encode(text)));
        assertEquals("ab<|endoftext|>", t.decode(new int[] {256, 260}));
        Tokenizer back = Tokenizer.fromJson(t.toJson());
        assertEquals(HfBpeTokenizer.TYPE, back.type());
        assertArrayEquals(t.encode(text), back.encode(text));
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {261}));
    }

    @Test
    void vocabJsonAndMergesTxtOrTokenizerJsonLoadTheSameTokenizer() throws Exception {
        Path pair = Files.createDirectories(tmp.resolve("pair"));
        Files.writeString(pair.resolve(HfTokenizerFiles.VOCAB), json(smallVocab()));
        Files.writeString(pair.resolve(HfTokenizerFiles.MERGES), "#version: 0.2\n" + String.join("\n", SMALL_MERGES) + "\n");
        Tokenizer fromPair = HfTokenizerFiles.load(pair);

        Map<String, Integer> withoutSpecial = new LinkedHashMap<>(smallVocab());
        withoutSpecial.remove("<|endoftext|>");
        Path single = Files.createDirectories(tmp.resolve("single"));
        Files.writeString(single.resolve(HfTokenizerFiles.TOKENIZER_JSON), "{\"added_tokens\": [{\"id\": 260, \"content\":"
                + " \"<|endoftext|>\", \"special\": true}], \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\":"
                + " false, \"use_regex\": true}, \"model\": {\"type\": \"BPE\", \"vocab\": " + json(withoutSpecial)
                + ", \"merges\": [[\"a\", \"b\"], \"b c\", [\"a\", \"bc\"], [\"\u0120\", \"a\"]]}}");
        Tokenizer fromSingle = HfTokenizerFiles.load(single);

        String text = "abc abca bc";
        assertArrayEquals(HfBpeTokenizer.of(smallVocab(), SMALL_MERGES).encode(text), fromPair.encode(text));
        assertArrayEquals(fromPair.encode(text), fromSingle.encode(text));
        assertEquals(fromPair.endOfTextId(), fromSingle.endOfTextId());
    }

    @Test
    void malformedFilesAreRefusedNamingTheProblem() throws Exception {
        Map<String, Integer> noByte = smallVocab();
        noByte.put("zz", noByte.remove("Ġ")); // same ids, no space byte
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HfBpeTokenizer.of(noByte, List.of())).getMessage()
                .startsWith("there is no token for byte 0x20 ('\u0120')"));
        assertEquals("merge 2 'b d' needs token 'bd', which is not in the vocabulary", assertThrows(
                IllegalArgumentException.class, () -> HfBpeTokenizer.of(smallVocab(), List.of("a b", "b d"))).getMessage());
        Map<String, Integer> gap = smallVocab();
        gap.put("abc", 300);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> HfBpeTokenizer.of(gap, SMALL_MERGES)).getMessage()
                .startsWith("token 'abc' has id 300; the 261 ids must be 0..260"));

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertTrue(assertThrows(DataException.class, () -> HfTokenizerFiles.load(empty)).getMessage()
                .endsWith("has neither vocab.json + merges.txt nor tokenizer.json; copy the model's tokenizer files next to its weights"));
        Path wordPiece = Files.createDirectories(tmp.resolve("wp"));
        Files.writeString(wordPiece.resolve(HfTokenizerFiles.TOKENIZER_JSON), "{\"model\": {\"type\": \"WordPiece\"}}");
        // Not a byte-level BPE: handed to HfJsonTokenizer, whose checks name the problem.
        assertTrue(assertThrows(DataException.class, () -> HfTokenizerFiles.load(wordPiece)).getMessage()
                .contains("has no model.vocab object"));
        Path badMerges = Files.createDirectories(tmp.resolve("bad"));
        Files.writeString(badMerges.resolve(HfTokenizerFiles.VOCAB), json(smallVocab()));
        Files.writeString(badMerges.resolve(HfTokenizerFiles.MERGES), "#version: 0.2\na b\nabc\n");
        assertTrue(assertThrows(DataException.class, () -> HfTokenizerFiles.load(badMerges)).getMessage()
                .contains("merge 2 'abc' is not two tokens separated by one space"));
    }

    /**
     * GPT-2's own vocab.json and merges.txt, rebuilt from jtokkit's r50k_base ranks (each merge
     * recovered by running BPE on a token's bytes with the ranks below its own), load as
     * {@link Gpt2Tokenizer}; and the merge-priority encoder given those files agrees with
     * jtokkit token for token on a real text.
     */
    @Test
    void gpt2sOwnFilesLoadAsTheGpt2TokenizerAndTheMergeEncoderAgreesWithIt() throws Exception {
        Map<String, Integer> vocab = new HashMap<>();
        TreeMap<Integer, byte[]> byRank = new TreeMap<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                Gpt2Tokenizer.class.getResourceAsStream("/com/knuddels/jtokkit/r50k_base.tiktoken"), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] parts = line.split(" ");
                byte[] bytes = Base64.getDecoder().decode(parts[0]);
                int rank = Integer.parseInt(parts[1]);
                vocab.put(ByteLevelAlphabet.encode(bytes), rank);
                byRank.put(rank, bytes);
            }
        }
        vocab.put("<|endoftext|>", 50256);
        List<String> merges = new ArrayList<>();
        for (Map.Entry<Integer, byte[]> token : byRank.tailMap(256).entrySet()) {
            merges.add(recoverMerge(token.getValue(), token.getKey(), vocab));
        }
        Path dir = Files.createDirectories(tmp.resolve("gpt2"));
        Files.writeString(dir.resolve(HfTokenizerFiles.VOCAB), json(vocab));
        Files.writeString(dir.resolve(HfTokenizerFiles.MERGES), "#version: 0.2\n" + String.join("\n", merges) + "\n");
        assertSame(Gpt2Tokenizer.get(), HfTokenizerFiles.load(dir));

        HfBpeTokenizer general = HfBpeTokenizer.of(vocab, merges);
        assertTrue(HfTokenizerFiles.isGpt2(general));
        String text = Files.readString(SHAKESPEARE).substring(0, 20_000)
                + " Don't  stop 12345 caf\u00e9 \u00fcber na\u00efve \ud83d\ude00\t\n\n  ";
        assertArrayEquals(Gpt2Tokenizer.get().encode(text), general.encode(text));

        Map<String, Integer> changed = new HashMap<>(vocab);
        changed.put("<|endoftext|>", vocab.get("!"));
        changed.put("!", 50256);
        assertTrue(!HfTokenizerFiles.isGpt2(HfBpeTokenizer.of(changed, merges)), "other ids are not GPT-2");
    }

    /** The merge that makes {@code token}: BPE over its bytes with the ranks below {@code rank} ends in two parts. */
    private static String recoverMerge(byte[] token, int rank, Map<String, Integer> vocab) {
        List<String> parts = new ArrayList<>();
        for (byte b : token) {
            parts.add(String.valueOf(ByteLevelAlphabet.charOf(b)));
        }
        while (parts.size() > 2) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = vocab.get(parts.get(i) + parts.get(i + 1));
                if (r != null && r < rank && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
        return parts.get(0) + " " + parts.get(1);
    }

    private static String json(Map<String, Integer> vocab) {
        return TokenizerJson.MAPPER.valueToTree(vocab).toString();
    }
}
