package io.troupe.ops.translate;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores a translator on source/reference pairs: corpus BLEU (sacreBLEU's 13a defaults) and chrF
 * over all pairs, the length ratio, and BLEU per source-length bucket (source words, split as
 * Python's {@code str.split()}), so that a model that only handles short sentences shows it.
 * A source that occurs several times (Tatoeba's alternate translations) is translated once; each
 * pair is one segment with its own single reference.
 */
public final class TranslationEval {
    /** Upper bounds (inclusive, in source words) of the length buckets; the last one is open. */
    static final int[] BUCKET_BOUNDS = {5, 10, 15, 20};

    /** One source-length bucket's scores. */
    public record Bucket(@JsonProperty("source_words") String sourceWords, @JsonProperty("pairs") int pairs,
                         @JsonProperty("bleu") double bleu, @JsonProperty("chrf") double chrf,
                         @JsonProperty("length_ratio") double lengthRatio) {
    }

    /** The scores of a whole evaluation. */
    public record Report(int pairs, int distinctSources, double bleu, double chrf, double lengthRatio,
                         double brevityPenalty, double[] precisions, List<Bucket> buckets) {
    }

    /** Translates one source line. */
    @FunctionalInterface
    public interface Translator {
        String translate(String source) throws OrtException;
    }

    private TranslationEval() {
    }

    /**
     * @param sources source lines
     * @param references one reference per source line
     * @param translator the decoder under test
     * @param progress told the number of distinct sources translated so far, now and then
     */
    public static Report run(List<String> sources, List<String> references, Translator translator,
                             java.util.function.IntConsumer progress) throws OrtException {
        if (sources.size() != references.size()) {
            throw new IllegalArgumentException(sources.size() + " sources but " + references.size() + " references");
        }
        Map<String, String> translated = new HashMap<>();
        List<String> hyps = new ArrayList<>(sources.size());
        for (String source : sources) {
            String hyp = translated.get(source);
            if (hyp == null) {
                hyp = translator.translate(source);
                translated.put(source, hyp);
                if (translated.size() % 100 == 0) {
                    progress.accept(translated.size());
                }
            }
            hyps.add(hyp);
        }
        return score(sources, references, hyps, translated.size());
    }

    /** Scores given hypotheses (one per source line). */
    public static Report score(List<String> sources, List<String> references, List<String> hyps,
                               int distinctSources) {
        CorpusBleu bleu = new CorpusBleu();
        CorpusChrf chrf = new CorpusChrf();
        CorpusBleu.Score all = bleu.score(hyps, List.of(references));
        List<Bucket> buckets = new ArrayList<>();
        for (int b = 0; b <= BUCKET_BOUNDS.length; b++) {
            int low = b == 0 ? 1 : BUCKET_BOUNDS[b - 1] + 1;
            int high = b == BUCKET_BOUNDS.length ? Integer.MAX_VALUE : BUCKET_BOUNDS[b];
            List<String> h = new ArrayList<>();
            List<String> r = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                int words = Math.max(1, PyWhitespace.split(sources.get(i)).size());
                if (words >= low && words <= high) {
                    h.add(hyps.get(i));
                    r.add(references.get(i));
                }
            }
            if (!h.isEmpty()) {
                CorpusBleu.Score s = bleu.score(h, List.of(r));
                buckets.add(new Bucket(high == Integer.MAX_VALUE ? low + "+" : low + "-" + high, h.size(), s.bleu(),
                        chrf.score(h, List.of(r)), s.lengthRatio()));
            }
        }
        return new Report(sources.size(), distinctSources, all.bleu(), chrf.score(hyps, List.of(references)),
                all.lengthRatio(), all.brevityPenalty(), all.precisions(), buckets);
    }
}
