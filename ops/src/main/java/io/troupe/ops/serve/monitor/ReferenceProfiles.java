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
import io.troupe.data.tokenize.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Computes a model's {@link ReferenceProfile} from the data its run records in
 * {@code summary.json} ({@code "data": {"path", ...}}), or from a file of example texts
 * ({@code serve --reference-data}), with bounded work so that it takes seconds on a large
 * corpus: the histograms from at most {@value #SAMPLE_TOKENS} tokens of the train split, in
 * evenly spaced chunks, counted line by line (at most {@value #COUNTED_TEXTS} texts); the
 * perplexity (causal, or an MLM encoder's pseudo-perplexity) from at most {@value #SCORED_TEXTS}
 * lines of the val split, each scored alone as a prompt is.
 */
public final class ReferenceProfiles {
    static final int SAMPLE_TOKENS = 1 << 18;
    static final int CHUNKS = 32;
    static final int SCORED_TEXTS = 100;
    static final int VAL_TOKENS = 1 << 16;
    static final int CONFIDENCE_TEXTS = 256;
    static final int MAX_LINES = 200_000;
    static final int COUNTED_TEXTS = 1 << 15;
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

    /**
     * The profile of {@code model} from the data its run trained on: a classifier's labelled
     * examples, a language model's text or prepared dataset (train split for the histograms, val
     * split for the perplexity), an encoder's text file (its lines, split 90/10 as training
     * splits) or prepared dataset.
     */
    public static ReferenceProfile of(MonitoredModel model, Path data) throws DataException, OrtException {
        return of(model, data, () -> false);
    }

    /**
     * As {@link #of(MonitoredModel, Path)}, giving up between two scored texts once
     * {@code cancelled} says so (the model is closing).
     *
     * @throws java.util.concurrent.CancellationException when cancelled
     */
    static ReferenceProfile of(MonitoredModel model, Path data, BooleanSupplier cancelled)
            throws DataException, OrtException {
        if (model.classifier() != null) {
            return ofClassifier(model, data, cancelled);
        }
        if (model instanceof MonitoredModel.Encoder && Files.isRegularFile(data)) {
            // A WordPiece tokenizer drops line breaks, so decoded tokens have no lines: read the text itself.
            List<String> lines = textLines(data);
            int cut = (int) (lines.size() * TokenSplit.TRAIN_FRACTION);
            return profile(model, lines.subList(0, cut), lines.subList(cut, lines.size()), identity(data), cancelled);
        }
        DataSource source = DataSource.open(data).withTokenizer(model.tokenizer(), "the model's");
        TokenSplit split = source.split(model.blockSize());
        // A GPT's text keeps its line breaks; an encoder's prepared dataset has none: its texts are training rows.
        int row = model instanceof MonitoredModel.Encoder ? Math.max(1, model.blockSize() - 2) : 0;
        List<String> train = new ArrayList<>();
        TokenSequence tokens = split.train();
        int chunks = (int) Math.max(1, Math.min(CHUNKS, tokens.length() * CHUNKS / SAMPLE_TOKENS));
        int chunk = (int) Math.min(tokens.length() / chunks, SAMPLE_TOKENS / CHUNKS);
        for (int c = 0; c < chunks; c++) {
            train.addAll(texts(model.tokenizer(), tokens, tokens.length() * c / chunks, chunk, chunks > 1, row));
        }
        TokenSequence val = split.val();
        List<String> valTexts = texts(model.tokenizer(), val, 0, (int) Math.min(val.length(), VAL_TOKENS), false, row);
        return profile(model, train, valTexts, source.identity().path() + " (sha256 " + source.identity().sha256() + ")",
                cancelled);
    }

    /**
     * The profile of {@code model} from a text file of example requests, one text per line
     * ({@code serve --reference-data}): every line counts in the histograms (at most the first
     * {@value #MAX_LINES} non-blank ones), an even spread of them is scored.
     */
    public static ReferenceProfile ofTexts(MonitoredModel model, Path file) throws DataException, OrtException {
        return ofTexts(model, file, () -> false);
    }

    static ReferenceProfile ofTexts(MonitoredModel model, Path file, BooleanSupplier cancelled)
            throws DataException, OrtException {
        List<String> lines = textLines(file);
        if (lines.isEmpty()) {
            throw new DataException(file + " holds no text; give one example request per line");
        }
        return profile(model, lines, lines, identity(file), cancelled);
    }

    /** Histograms of {@code counted}; the model's score (perplexity or confidence) over a spread of {@code scored}. */
    private static ReferenceProfile profile(MonitoredModel model, List<String> counted, List<String> scored,
            String source, BooleanSupplier cancelled) throws OrtException {
        LenientEncoder encoder = new LenientEncoder(model.tokenizer());
        TextHistograms counts = new TextHistograms(encoder.bins());
        for (String text : spread(counted, COUNTED_TEXTS)) {
            counts.add(encoder.encode(text), 1, encoder.unknownBin());
        }
        double total = 0;
        long tokens = 0;
        if (model.perplexityKind() != MonitoredModel.PerplexityKind.NONE) {
            for (String text : spread(scored, SCORED_TEXTS)) {
                if (cancelled.getAsBoolean()) {
                    throw new CancellationException("the model is closing");
                }
                MonitoredModel.Loss loss = model.score(encoder.encode(text).ids());
                if (loss != null) {
                    total += loss.meanLoss() * loss.tokens();
                    tokens += loss.tokens();
                }
            }
        }
        return new ReferenceProfile(model.tokenizer().type(), counts.tokens, counts.lengths, counts.texts,
                tokens == 0 ? Double.NaN : Math.exp(total / tokens), model.perplexityKind().label(), Double.NaN, source);
    }

    private static ReferenceProfile ofClassifier(MonitoredModel model, Path data, BooleanSupplier cancelled)
            throws DataException, OrtException {
        LabelledData examples = LabelledReader.forTraining(Integer.MAX_VALUE).read(data);
        LenientEncoder encoder = new LenientEncoder(model.tokenizer());
        TextHistograms counts = new TextHistograms(encoder.bins());
        List<String> texts = new ArrayList<>();
        for (LabelledExample e : examples.examples()) {
            counts.add(encoder.encode(e.text()), 1, encoder.unknownBin());
            texts.add(e.text());
        }
        List<String> scored = spread(texts, CONFIDENCE_TEXTS);
        if (cancelled.getAsBoolean()) {
            throw new CancellationException("the model is closing");
        }
        double confidence = 0;
        for (double p : ((MonitoredModel.Classifier) model).confidences(scored)) {
            confidence += p;
        }
        return new ReferenceProfile(model.tokenizer().type(), counts.tokens, counts.lengths, counts.texts,
                Double.NaN, model.perplexityKind().label(), confidence / scored.size(), identity(data));
    }

    /** A file's path and SHA-256, for the model card. */
    private static String identity(Path file) throws DataException {
        try {
            return file + " (sha256 " + DataSource.sha256(file) + ")";
        } catch (IOException e) {
            throw new DataException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** The non-blank lines of a UTF-8 text file, at most the first {@value #MAX_LINES}. */
    static List<String> textLines(Path file) throws DataException {
        List<String> lines = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Files.newInputStream(file),
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)))) {
            String line;
            while (lines.size() < MAX_LINES && (line = in.readLine()) != null) {
                if (!line.isBlank()) {
                    lines.add(line);
                }
            }
        } catch (CharacterCodingException e) {
            throw new DataException(file + " is not UTF-8 text; give a text file with one example per line", e);
        } catch (NoSuchFileException e) {
            throw new DataException(file + " does not exist", e);
        } catch (IOException e) {
            throw new DataException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return lines;
    }

    /**
     * The texts in {@code count} tokens from {@code from}: its lines ({@code row} 0; a chunk cut
     * from the middle drops its partial first and last lines), or rows of {@code row} tokens.
     */
    private static List<String> texts(Tokenizer tokenizer, TokenSequence tokens, long from, int count, boolean partial,
            int row) {
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = tokens.get(from + i);
        }
        List<String> out = new ArrayList<>();
        if (row > 0) {
            for (int at = 0; at + row <= count || (at == 0 && count > 0); at += row) {
                out.add(tokenizer.decode(Arrays.copyOfRange(ids, at, Math.min(count, at + row))));
            }
            return out;
        }
        String[] lines = tokenizer.decode(ids).split("\n", -1);
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
