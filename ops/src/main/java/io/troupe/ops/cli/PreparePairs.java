package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.pairs.HashSplit;
import io.troupe.data.pairs.PairsPreparer;
import io.troupe.data.pairs.PairsRequest;
import io.troupe.data.tokenize.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code troupe prepare --pairs}: the options of a parallel-pairs dataset, checked, run through
 * {@link PairsPreparer}, and its numbers printed as a table or one JSON object.
 */
final class PreparePairs {

    private PreparePairs() {
    }

    /** The pairs options as parsed by picocli; null where not given. */
    record Options(List<Path> files, Path out, boolean force, String split, Integer sourceColumn, Integer targetColumn,
            String sourceLanguage, String targetLanguage, Integer vocabSize, boolean normalizeSpaces,
            Double maxBadFraction, Integer batchSize, Long seed, String attribution, boolean json, Path tokenizer) {
    }

    static int run(Options o, PrintWriter out, PrintWriter err) {
        if (o.split() == null) {
            throw UserError.usage("--pairs needs --split, e.g. --split hash-en:90/5/5 (train/val/test percentages,"
                    + " by the MD5 of the English side)");
        }
        HashSplit split = UserError.onCommandLine(() -> HashSplit.parse(o.split()));
        double maxBad = o.maxBadFraction() == null ? PairsRequest.DEFAULT_MAX_BAD_FRACTION : o.maxBadFraction();
        if (maxBad < 0 || maxBad > 1) {
            throw UserError.usage("--max-bad-fraction must be in [0, 1], got " + maxBad);
        }
        int batch = o.batchSize() == null ? PairsRequest.DEFAULT_BATCH : o.batchSize();
        if (batch < 1) {
            throw UserError.usage("--batch-size must be at least 1, got " + batch);
        }
        PairsRequest request = new PairsRequest(o.files(), o.out(), o.force(),
                o.sourceColumn() == null ? 1 : o.sourceColumn(), o.targetColumn() == null ? 2 : o.targetColumn(),
                o.sourceLanguage() == null ? "en" : o.sourceLanguage(),
                o.targetLanguage() == null ? "fr" : o.targetLanguage(), split,
                o.vocabSize() == null ? PairsRequest.DEFAULT_VOCAB : o.vocabSize(), o.normalizeSpaces(), maxBad, batch,
                o.seed() == null ? 0 : o.seed());
        String attribution = o.attribution() != null ? o.attribution() : PairsPreparer.attributionOf(o.files());
        if (o.tokenizer() != null && o.vocabSize() != null) {
            throw UserError.usage("--vocab-size sizes a new BPE; --pairs-tokenizer reuses one: pass one of them");
        }
        Tokenizer reuse = null;
        if (o.tokenizer() != null) {
            Path file = Files.isDirectory(o.tokenizer()) ? o.tokenizer().resolve(Tokenizer.FILE_NAME) : o.tokenizer();
            try {
                reuse = Tokenizer.load(file);
            } catch (DataException e) {
                throw UserError.inputData("--pairs-tokenizer: " + e.getMessage(), e);
            }
        }
        Tokenizer kept = reuse;
        PairsPreparer.Result r = UserError.onCommandLine(() -> PairsPreparer.run(request, attribution, kept));
        if (o.json()) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode node = mapper.createObjectNode();
            node.put("directory", r.directory().toString());
            node.put("vocab_size", r.vocabSize());
            node.put("lines", r.lines());
            node.put("bad_lines", r.badLines());
            node.put("tokenizer_seconds", r.tokenizerSeconds());
            node.put("seconds", r.seconds());
            if (attribution != null) {
                node.put("attribution", attribution);
            }
            ObjectNode splits = node.putObject("splits");
            r.splits().forEach((part, s) -> {
                ObjectNode one = splits.putObject(part.id());
                one.put("pairs", s.pairs());
                one.put("distinct_" + split.language(), s.distinctHashed());
                one.put("source_tokens", s.sourceTokens());
                one.put("target_tokens", s.targetTokens());
                one.put("padding_fraction_bucketed", s.bucketedPadding());
                one.put("padding_fraction_random", s.randomPadding());
            });
            Json.printLine(out, node);
        } else {
            out.printf(Locale.ROOT, "pairs: %,d lines read, %,d skipped (no TAB, missing column or empty side)%n",
                    r.lines(), r.badLines());
            if (o.normalizeSpaces()) {
                out.printf(Locale.ROOT, "typographic spaces normalised in %,d sides%n", r.spacesNormalized());
            }
            if (kept != null) {
                out.printf(Locale.ROOT, "shared byte-level BPE: %,d tokens, reused from %s%n", r.vocabSize(), o.tokenizer());
            } else {
                out.printf(Locale.ROOT, "shared byte-level BPE: %,d tokens, trained in %.1f s on both sides of train%n",
                        r.vocabSize(), r.tokenizerSeconds());
            }
            out.printf(Locale.ROOT, "%-6s %9s %11s %13s %13s %19s%n", "split", "pairs", "distinct " + split.language(),
                    "source tok", "target tok", "padding b=" + batch + " (rand)");
            r.splits().forEach((part, s) -> out.printf(Locale.ROOT, "%-6s %,9d %,11d %,13d %,13d %10.1f%% (%4.1f%%)%n",
                    part.id(), s.pairs(), s.distinctHashed(), s.sourceTokens(), s.targetTokens(),
                    100 * s.bucketedPadding(), 100 * s.randomPadding()));
            out.printf(Locale.ROOT, "wrote %s in %.1f s%n", r.directory(), r.seconds());
            if (attribution != null) {
                out.println("attribution (required wherever a model trained on it is published): " + attribution);
            } else {
                err.println("note: no attribution found (no _about.txt with 'Attribution:' beside the files);"
                        + " pass --attribution if the data's licence asks for one");
            }
        }
        out.flush();
        err.flush();
        return TroupeCli.EXIT_OK;
    }
}
