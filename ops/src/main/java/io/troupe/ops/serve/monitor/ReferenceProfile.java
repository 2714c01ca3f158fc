package io.troupe.ops.serve.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the text a model was trained on looks like, stored beside the model as
 * {@value #FILE_NAME} so that {@code troupe serve} can tell when its prompts stop looking like
 * it: the token histogram (the vocabulary plus one out-of-vocabulary bin), the histogram of text
 * lengths in tokens ({@link LengthBins}), and the model's own score of held-out text, its
 * perplexity for a language model or its mean top-class probability for a classifier.
 *
 * @param tokenizer the tokenizer's type, checked against the model's when read
 * @param tokens [vocab + 1] token counts, the last bin for characters without a token
 * @param lengths [{@link LengthBins#COUNT}] texts per length bin
 * @param texts texts (lines, or labelled examples) counted
 * @param perplexity the model's perplexity on its val split, scored text by text as prompts are; NaN without one
 * @param perplexityKind which perplexity ({@link MonitoredModel.PerplexityKind#label()}): causal (a GPT), pseudo (an
 *     MLM encoder's pseudo-perplexity) or none (a classifier, a sentence encoder without an MLM head)
 * @param confidence a classifier's mean top-class probability on its data; NaN for a language model
 * @param source where the data came from (its path and SHA-256), for the model card
 */
public record ReferenceProfile(String tokenizer, long[] tokens, long[] lengths, long texts, double perplexity,
        String perplexityKind, double confidence, String source) {
    /** The file name in a model directory. */
    public static final String FILE_NAME = "reference_profile.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The profile stored in {@code dir}, or null when there is none. */
    public static ReferenceProfile read(Path dir) throws DataException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode o = JSON.readTree(Files.readString(file));
            return new ReferenceProfile(o.path("tokenizer").asText(), longs(o.path("tokens")), longs(o.path("lengths")),
                    o.path("texts").asLong(), number(o.path("perplexity")),
                    // Profiles from before encoders were watched: a perplexity was always a GPT's.
                    o.path("perplexity_kind").asText(o.path("perplexity").isNumber() ? "causal" : "none"),
                    number(o.path("confidence")),
                    o.path("source").asText());
        } catch (IOException | RuntimeException e) {
            throw new DataException(file + " is not a readable reference profile (" + e.getMessage() + "); delete it and"
                    + " serve computes it again", e);
        }
    }

    /** Writes the profile to {@code dir/}{@value #FILE_NAME}, atomically. */
    public void write(Path dir) throws IOException {
        AtomicFiles.writeString(dir.resolve(FILE_NAME), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson())
                + "\n");
    }

    /** The profile as JSON: the file's content. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("version", 1);
        o.put("tokenizer", tokenizer);
        o.put("source", source);
        o.put("texts", texts);
        put(o, "perplexity", perplexity);
        o.put("perplexity_kind", perplexityKind);
        put(o, "confidence", confidence);
        ArrayNode l = o.putArray("lengths");
        for (long c : lengths) {
            l.add(c);
        }
        ArrayNode t = o.putArray("tokens");
        for (long c : tokens) {
            t.add(c);
        }
        return o;
    }

    private static void put(ObjectNode o, String key, double value) {
        if (Double.isNaN(value)) {
            o.putNull(key);
        } else {
            o.put(key, value);
        }
    }

    private static double number(JsonNode n) {
        return n.isNumber() ? n.asDouble() : Double.NaN;
    }

    private static long[] longs(JsonNode array) {
        if (!array.isArray() || array.isEmpty()) {
            throw new IllegalArgumentException("a histogram is missing");
        }
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
