package io.troupe.ops.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link TranslationEval}: buckets partition the pairs, repeated sources are translated once, scores follow the hypotheses. */
class TranslationEvalTest {
    @Test
    void bucketsPartitionThePairsAndRepeatedSourcesAreTranslatedOnce() throws Exception {
        List<String> sources = List.of("a b c", "a b c", "one two three four five six seven",
                "w w w w w w w w w w w w w w w w w w w w w w w w w");
        List<String> refs = List.of("le chat noir dort ici", "le chat noir dort là", "un deux trois quatre cinq six sept",
                "x y z x y z x y z x y z");
        Map<String, Integer> calls = new HashMap<>();
        Map<String, String> answer = Map.of("a b c", "le chat noir dort ici",
                "one two three four five six seven", "un deux trois quatre cinq six sept",
                "w w w w w w w w w w w w w w w w w w w w w w w w w", "rien");
        TranslationEval.Report r = TranslationEval.run(sources, refs, s -> {
            calls.merge(s, 1, Integer::sum);
            return answer.get(s);
        }, n -> { });
        assertEquals(3, calls.size());
        assertTrue(calls.values().stream().allMatch(c -> c == 1), calls.toString());
        assertEquals(4, r.pairs());
        assertEquals(3, r.distinctSources());
        assertEquals(List.of("1-5", "6-10", "21+"), r.buckets().stream().map(TranslationEval.Bucket::sourceWords).toList());
        assertEquals(4, r.buckets().stream().mapToInt(TranslationEval.Bucket::pairs).sum());
        assertEquals(100.0, r.buckets().get(1).bleu(), 1e-9);       // the exact translation
        assertEquals(0.0, r.buckets().get(2).bleu(), 1e-9);         // no word right
        double bucket1 = new CorpusBleu().score(List.of("le chat noir dort ici", "le chat noir dort ici"),
                List.of(List.of("le chat noir dort ici", "le chat noir dort là"))).bleu();
        assertEquals(bucket1, r.buckets().get(0).bleu(), 1e-9);
        assertTrue(r.bleu() > 0 && r.bleu() < 100, "corpus BLEU " + r.bleu());
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(r.buckets().get(0));
        assertEquals("{\"source_words\":\"1-5\",\"pairs\":2,\"bleu\":" + r.buckets().get(0).bleu() + ",\"chrf\":"
                + r.buckets().get(0).chrf() + ",\"length_ratio\":" + r.buckets().get(0).lengthRatio() + "}", json);
    }
}
