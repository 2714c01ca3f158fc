package io.troupe.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.clean.Normalization;
import io.troupe.data.ingest.OnInvalid;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PrepareSettingsTest {

    @Test
    void defaultsComeFromReferenceConf() throws DataException {
        PrepareSettings s = PrepareSettings.defaults();
        assertEquals(StandardCharsets.UTF_8, s.read().encoding());
        assertEquals(OnInvalid.SKIP, s.read().onInvalid());
        assertEquals(Normalization.NFC, s.clean().normalization());
        assertEquals(TokenizerKind.CHAR, s.tokenizer().kind());
        assertEquals(List.of("<|endoftext|>"), s.tokenizer().specialTokens());
        assertEquals(0.1, s.split().valFraction());
        assertEquals(512L << 20, s.dedup().indexBytes());
        assertEquals(Runtime.getRuntime().availableProcessors(), s.threads());
        assertEquals("nfc", s.json().path("unicode_normalization").asText());
    }

    @Test
    void overridesAreTypedAndChecked() throws DataException {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("tokenizer", "BPE");
        o.put("vocab_size", "1000");
        o.put("encoding", "ISO-8859-1");
        o.put("on_invalid", "replace");
        o.put("special_tokens", "[\"<|endoftext|>\", \"<|pad|>\"]");
        o.put("unicode_normalization", "nfkc");
        o.put("strict", "true");
        PrepareSettings s = PrepareSettings.load(o);
        assertEquals(TokenizerKind.BPE, s.tokenizer().kind());
        assertEquals(1000, s.tokenizer().vocabSize());
        assertEquals(StandardCharsets.ISO_8859_1, s.read().encoding());
        assertEquals(OnInvalid.FAIL, s.read().invalidPolicy(), "strict fails on invalid bytes");
        assertEquals(List.of("<|endoftext|>", "<|pad|>"), s.tokenizer().specialTokens());
        assertEquals(Normalization.NFKC, s.clean().normalization());
        assertEquals("1000", s.json().path("vocab_size").asText());
    }

    @Test
    void badValuesNameTheKey() {
        assertMessage(Map.of("vocab_size", "2.5"), "setting vocab_size must be an integer, got '2.5'");
        assertMessage(Map.of("val_fraction", "1.5"), "setting val_fraction = 1.5 is out of range; it must be in [0.0, 0.99]");
        assertMessage(Map.of("tokenizer", "sentencepiece"), "setting tokenizer = 'sentencepiece' is not one of: char, gpt2, bpe, wordpiece");
        assertMessage(Map.of("encoding", "klingon-8"), "encoding 'klingon-8' is not one Java knows");
        assertMessage(Map.of("encoding", "UTF-16"), "prepare settings: encoding UTF-16 is not ASCII-compatible");
        assertMessage(Map.of("tokenizer", "bpe", "vocab_size", "2000000"), "vocab size 2000000 is out of range");
        assertMessage(Map.of("min_mean_word_length", "5", "max_mean_word_length", "4"),
                "prepare settings: mean word length bounds must satisfy 0 <= min <= max");
        assertMessage(Map.of("lowercase", "maybe"), "setting lowercase must be true or false, got 'maybe'");
        assertMessage(Map.of("nope", "1"), "unknown prepare setting 'nope'; known settings: [batch_bytes,");
    }

    @Test
    void theSplitHashIsReproducibleAndUniform() {
        SplitAssigner a = new SplitAssigner(0.25, 0);
        int val = 0;
        for (int i = 0; i < 4000; i++) {
            if (a.assign("doc-" + i) == io.troupe.data.shard.Split.VAL) {
                val++;
            }
        }
        assertEquals(1000, val, 90);
        assertEquals(a.fraction("books/emma.txt#3"), new SplitAssigner(0.9, 0).fraction("books/emma.txt#3"));
        assertTrue(a.fraction("books/emma.txt#3") != new SplitAssigner(0.25, 1).fraction("books/emma.txt#3"));
    }

    private static void assertMessage(Map<String, String> overrides, String start) {
        DataException e = assertThrows(DataException.class, () -> PrepareSettings.load(new LinkedHashMap<>(overrides)));
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }
}
