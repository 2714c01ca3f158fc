package io.troupe.ops.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * BLEU and chrF against sacreBLEU's own numbers on a committed fixture (French references with
 * typographic spaces, written by translate/make_fixture.py beside the files).
 */
class TranslationMetricsTest {
    private static final double TOLERANCE = 0.01;

    private static List<String> lines(String name) throws IOException {
        try (InputStream in = TranslationMetricsTest.class.getResourceAsStream("/translate/" + name)) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            List<String> out = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
            out.remove(out.size() - 1); // the file ends with a newline
            return out;
        }
    }

    private static JsonNode expected() throws IOException {
        try (InputStream in = TranslationMetricsTest.class.getResourceAsStream("/translate/expected.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    @Test
    void bleuAndChrfMatchSacrebleuWithOneReference() throws IOException {
        List<String> hyp = lines("hyp.txt");
        JsonNode want = expected().get("one_ref");
        CorpusBleu.Score bleu = new CorpusBleu().score(hyp, List.of(lines("ref1.txt")));
        assertEquals(want.get("bleu").asDouble(), bleu.bleu(), TOLERANCE);
        assertEquals(want.get("bp").asDouble(), bleu.brevityPenalty(), 1e-6);
        assertEquals(want.get("sys_len").asLong(), bleu.hypLength());
        assertEquals(want.get("ref_len").asLong(), bleu.refLength());
        assertEquals(want.get("chrf").asDouble(), new CorpusChrf().score(hyp, List.of(lines("ref1.txt"))), TOLERANCE);
    }

    @Test
    void bleuAndChrfMatchSacrebleuWithTwoReferences() throws IOException {
        List<String> hyp = lines("hyp.txt");
        List<List<String>> refs = List.of(lines("ref1.txt"), lines("ref2.txt"));
        JsonNode want = expected().get("two_refs");
        CorpusBleu.Score bleu = new CorpusBleu().score(hyp, refs);
        assertEquals(want.get("bleu").asDouble(), bleu.bleu(), TOLERANCE);
        assertEquals(want.get("ref_len").asLong(), bleu.refLength());
        assertEquals(want.get("chrf").asDouble(), new CorpusChrf().score(hyp, refs), TOLERANCE);
    }

    @Test
    void aSubsetMatchesToo() throws IOException {
        List<String> hyp = lines("hyp.txt").subList(0, 30);
        List<String> ref = lines("ref1.txt").subList(0, 30);
        JsonNode want = expected();
        assertEquals(want.get("half_bleu_first30").asDouble(), new CorpusBleu().score(hyp, List.of(ref)).bleu(), TOLERANCE);
        assertEquals(want.get("half_chrf_first30").asDouble(), new CorpusChrf().score(hyp, List.of(ref)), TOLERANCE);
    }

    @Test
    void tokenizer13aSplitsPunctuationButKeepsNumbers() { // expected strings printed by sacrebleu 2.6.0 Tokenizer13a
        Tokenizer13a tok = new Tokenizer13a();
        assertEquals("Il a 3,5 km-2 & amp ; ça ?", tok.tokenize("Il a 3,5 km-2 &amp;amp; ça\u202f?"));
        assertEquals("Tom , viens !", tok.tokenize("Tom, viens\u00a0!"));
    }

    @Test
    void identicalAndDisjointCorpora() {
        List<String> ref = List.of("Le chat dort sur la maison bleue .");
        assertEquals(100.0, new CorpusBleu().score(ref, List.of(ref)).bleu(), 1e-9);
        assertEquals(100.0, new CorpusChrf().score(ref, List.of(ref)), 1e-9);
        assertEquals(0.0, new CorpusBleu().score(List.of("xyz"), List.of(ref)).bleu(), 1e-9);
    }
}
