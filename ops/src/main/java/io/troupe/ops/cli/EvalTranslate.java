package io.troupe.ops.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.troupe.data.DataException;
import io.troupe.data.pairs.HashSplit;
import io.troupe.data.pairs.PairDataset;
import io.troupe.data.pairs.PairReader;
import io.troupe.data.pairs.SentencePair;
import io.troupe.ops.translate.Seq2SeqDecoder;
import io.troupe.ops.translate.TranslationEval;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code troupe eval --task translate}: translates the sources of a pairs file (TAB-separated,
 * source then reference) or of a prepared pairs dataset's test split, and reports corpus BLEU,
 * chrF, the length ratio and BLEU per source-length bucket ({@link TranslationEval}).
 */
final class EvalTranslate {
    /** The {@code --json} line. */
    record Report(@JsonProperty("task") String task, @JsonProperty("decoding") String decoding,
                  @JsonProperty("pairs") int pairs, @JsonProperty("distinct_sources") int distinctSources,
                  @JsonProperty("bleu") double bleu, @JsonProperty("chrf") double chrf,
                  @JsonProperty("length_ratio") double lengthRatio,
                  @JsonProperty("brevity_penalty") double brevityPenalty,
                  @JsonProperty("precisions") double[] precisions,
                  @JsonProperty("buckets") List<TranslationEval.Bucket> buckets,
                  @JsonProperty("truncated_sources") int truncatedSources,
                  @JsonProperty("seconds") double seconds) {
    }

    private EvalTranslate() {
    }

    static int run(Path model, Path data, int limit, DecodingOptions decoding, int threads, boolean json,
                   PrintWriter out, PrintWriter err) throws DataException, ai.onnxruntime.OrtException {
        Seq2SeqModelDir dir = DecodingOptions.loadModel(model);
        decoding.check();
        List<String> sources = new ArrayList<>();
        List<String> refs = new ArrayList<>();
        read(data, sources, refs);
        if (limit > 0 && sources.size() > limit) {
            // Evenly spaced, not the head: pairs files (Tatoeba's) are often sorted by length.
            List<String> s = new ArrayList<>(limit);
            List<String> r = new ArrayList<>(limit);
            for (int i = 0; i < limit; i++) {
                int at = (int) ((long) i * sources.size() / limit);
                s.add(sources.get(at));
                r.add(refs.get(at));
            }
            sources = s;
            refs = r;
        }
        if (sources.isEmpty()) {
            throw UserError.inputData(data + " holds no pairs to translate");
        }
        long t0 = System.nanoTime();
        TranslationEval.Report r;
        int truncated;
        try (Seq2SeqDecoder decoder = new Seq2SeqDecoder(dir, threads)) {
            DecodingOptions.Strategy strategy = decoding.strategy(decoder);
            int total = sources.size();
            r = TranslationEval.run(sources, refs, strategy::translate, done -> {
                if (!json) {
                    err.printf("translated %d distinct sources (%d pairs in all)%n", done, total);
                    err.flush();
                }
            });
            truncated = decoder.truncatedSources();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (json) {
            Json.printLine(out, new Report("translate", decoding.describe(), r.pairs(), r.distinctSources(), r.bleu(),
                    r.chrf(), r.lengthRatio(), r.brevityPenalty(), r.precisions(), r.buckets(), truncated, seconds));
        } else {
            out.printf("%s on %,d pairs (%,d distinct sources), %s: BLEU %.2f  chrF %.2f  length ratio %.3f  (%.0f s)%n",
                    model, r.pairs(), r.distinctSources(), decoding.describe(), r.bleu(), r.chrf(), r.lengthRatio(),
                    seconds);
            out.println("source words   pairs     BLEU     chrF   len ratio");
            for (TranslationEval.Bucket b : r.buckets()) {
                out.printf("%-12s %7d %8.2f %8.2f %11.3f%n", b.sourceWords(), b.pairs(), b.bleu(), b.chrf(),
                        b.lengthRatio());
            }
            if (truncated > 0) {
                out.printf("%d source(s) longer than the model's %d positions were cut%n", truncated,
                        dir.config().maxSource());
            }
            if (!dir.attribution().isEmpty()) {
                out.println("model trained on data from " + dir.attribution());
            }
            out.flush();
        }
        return TroupeCli.EXIT_OK;
    }

    /** A pairs dataset directory's test split (decoded back to text), or a TAB-separated pairs file. */
    private static void read(Path data, List<String> sources, List<String> refs) throws DataException {
        if (Files.isDirectory(data)) {
            if (!PairDataset.isPairsDataset(data)) {
                throw UserError.usage(data + " is neither a pairs file nor a dataset from `troupe prepare --pairs`");
            }
            PairDataset dataset = PairDataset.open(data);
            PairDataset.Examples test = dataset.split(HashSplit.Part.TEST);
            for (int i = 0; i < test.size(); i++) {
                sources.add(dataset.tokenizer().decode(test.source(i)));
                refs.add(dataset.tokenizer().decode(test.target(i)));
            }
            return;
        }
        if (!Files.isRegularFile(data)) {
            throw UserError.usage("--data " + data + " does not exist; give a TAB-separated pairs file or a pairs dataset");
        }
        for (SentencePair p : new PairReader(1, 2, 0.01, false).read(List.of(data)).pairs()) {
            sources.add(p.source());
            refs.add(p.target());
        }
    }
}
