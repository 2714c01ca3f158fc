package io.troupe.ops.serve.monitor;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.labelled.LabelledData;
import io.troupe.data.labelled.LabelledExample;
import io.troupe.data.labelled.LabelledReader;
import io.troupe.data.source.DataSource;
import io.troupe.ops.inference.ExportedClassifier;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.ops.inference.Perplexity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Computes a model's {@link ReferenceProfile} from the data its run records in
 * {@code summary.json} ({@code "data": {"path", ...}}), with bounded work so that it takes
 * seconds on a large corpus: the histograms from at most {@value #SAMPLE_TOKENS} tokens of the
 * train split, in evenly spaced chunks, counted line by line; the perplexity from at most
 * {@value #SCORED_TEXTS} lines of the val split, each scored alone as a prompt is.
 */
public final class ReferenceProfiles {
    static final int SAMPLE_TOKENS = 1 << 18;
    static final int CHUNKS = 32;
    static final int SCORED_TEXTS = 100;
    static final int VAL_TOKENS = 1 << 16;
    static final int CONFIDENCE_TEXTS = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReferenceProfiles() {
    }

    /**
     * The data the run in {@code dir} trained on, from its summary.json.
     *
     * @throws DataException naming what is missing: the summary, its data entry, or the data itself
     */
    public static Path dataOf(Path dir) throws DataException {
        Path summary = dir.resolve("summary.json");
        if (!Files.isRegularFile(summary)) {
            throw new DataException(dir + " has no summary.json naming its training data");
        }
        JsonNode data;
        try {
            data = JSON.readTree(Files.readString(summary)).path("data").path("path");
        } catch (IOException e) {
            throw new DataException(summary + " is not readable JSON: " + e.getMessage(), e);
        }
        if (!data.isTextual()) {
            throw new DataException(summary + " records no training data (\"data\": {\"path\"})");
        }
        Path path = Path.of(data.asText());
        if (!Files.exists(path)) {
            throw new DataException("the training data " + path + " named by " + summary + " is not there (from "
                    + Path.of("").toAbsolutePath() + ")");
        }
        return path;
    }

    /** The profile of a language model from its training text or prepared dataset at {@code data}. */
    public static ReferenceProfile ofLanguageModel(ExportedModel model, Path data) throws DataException, OrtException {
        return ofLanguageModel(model, data, () -> false);
    }

    /**
     * As {@link #ofLanguageModel(ExportedModel, Path)}, giving up between two scored lines once
     * {@code cancelled} says so (the model is closing).
     *
     * @throws java.util.concurrent.CancellationException when cancelled
     */
    static ReferenceProfile ofLanguageModel(ExportedModel model, Path data, BooleanSupplier cancelled)
            throws DataException, OrtException {
        DataSource source = DataSource.open(data).withTokenizer(model.tokenizer(), "the model's");
        TokenSplit split = source.split(model.blockSize());
        LenientEncoder encoder = new LenientEncoder(model.tokenizer());
        TextHistograms counts = new TextHistograms(encoder.bins());
        TokenSequence train = split.train();
        int chunks = (int) Math.max(1, Math.min(CHUNKS, train.length() * CHUNKS / SAMPLE_TOKENS));
        int chunk = (int) Math.min(train.length() / chunks, SAMPLE_TOKENS / CHUNKS);
        for (int c = 0; c < chunks; c++) {
            long from = train.length() * c / chunks;
            for (String line : lines(model, train, from, chunk, chunks > 1)) {
                counts.add(encoder.encode(line), 1, encoder.unknownBin());
            }
        }
        TokenSequence val = split.val();
        List<String> valLines = lines(model, val, 0, (int) Math.min(val.length(), VAL_TOKENS), false);
        PromptLoss loss = new PromptLoss(model);
        double total = 0;
        long tokens = 0;
        for (String line : spread(valLines, SCORED_TEXTS)) {
            if (cancelled.getAsBoolean()) {
                throw new CancellationException("the model is closing");
            }
            Perplexity.Result r = loss.score(encoder.encode(line).ids());
            if (r != null) {
                total += r.loss() * r.tokens();
                tokens += r.tokens();
            }
        }
        return new ReferenceProfile(model.tokenizer().type(), counts.tokens, counts.lengths, counts.texts,
                tokens == 0 ? Double.NaN : Math.exp(total / tokens), Double.NaN, source.identity().path() + " (sha256 "
                        + source.identity().sha256() + ")");
    }

    /** The profile of a classifier from its labelled examples at {@code data}. */
    public static ReferenceProfile ofClassifier(ExportedClassifier classifier, Path data) throws DataException,
            OrtException {
        return ofClassifier(classifier, data, () -> false);
    }

    /** As {@link #ofClassifier(ExportedClassifier, Path)}, giving up before scoring once {@code cancelled} says so. */
    static ReferenceProfile ofClassifier(ExportedClassifier classifier, Path data, BooleanSupplier cancelled)
            throws DataException, OrtException {
        LabelledData examples = LabelledReader.forTraining(Integer.MAX_VALUE).read(data);
        LenientEncoder encoder = new LenientEncoder(classifier.tokenizer());
        TextHistograms counts = new TextHistograms(encoder.bins());
        List<String> texts = new ArrayList<>();
        for (LabelledExample e : examples.examples()) {
            counts.add(encoder.encode(e.text()), 1, encoder.unknownBin());
            texts.add(e.text());
        }
        double confidence = 0;
        List<String> scored = spread(texts, CONFIDENCE_TEXTS);
        if (cancelled.getAsBoolean()) {
            throw new CancellationException("the model is closing");
        }
        for (float[] p : classifier.probabilities(scored)) {
            confidence += p[ExportedClassifier.argmax(p)];
        }
        String sha;
        try {
            sha = DataSource.sha256(data);
        } catch (IOException e) {
            throw new DataException("cannot read " + data + ": " + e.getMessage(), e);
        }
        return new ReferenceProfile(classifier.tokenizer().type(), counts.tokens, counts.lengths, counts.texts,
                Double.NaN, confidence / scored.size(), data + " (sha256 " + sha + ")");
    }

    /** The lines of {@code count} tokens from {@code from}; a chunk cut from the middle drops its partial first and last lines. */
    private static List<String> lines(ExportedModel model, TokenSequence tokens, long from, int count, boolean partial) {
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = tokens.get(from + i);
        }
        String[] lines = model.tokenizer().decode(ids).split("\n", -1);
        List<String> out = new ArrayList<>();
        int first = partial && lines.length > 2 ? 1 : 0;
        int last = partial && lines.length > 2 ? lines.length - 1 : lines.length;
        for (int i = first; i < last; i++) {
            if (!lines[i].isBlank()) {
                out.add(lines[i]);
            }
        }
        return out;
    }

    /** At most {@code n} items of {@code all}, evenly spaced. */
    static <T> List<T> spread(List<T> all, int n) {
        if (all.size() <= n) {
            return all;
        }
        List<T> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(all.get((int) ((long) i * all.size() / n)));
        }
        return out;
    }
}
