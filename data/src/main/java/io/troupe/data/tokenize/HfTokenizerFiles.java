package io.troupe.data.tokenize;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.troupe.data.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a Troupe tokenizer from a Hugging Face model directory's tokenizer files:
 * {@code vocab.json} + {@code merges.txt} (read first when both exist) or {@code tokenizer.json}
 * (a {@code BPE} model with a {@code ByteLevel} pre-tokenizer, without prefix space).
 *
 * <p>A {@code tokenizer.json} of any other kind (WordPiece, a BPE with another pre-tokenizer
 * or normalizer) becomes an {@link HfJsonTokenizer}, run by the Hugging Face library itself.
 * Byte-level BPE stays on the pure-Java {@link HfBpeTokenizer}: it is the only path for
 * {@code vocab.json} + {@code merges.txt} (no tokenizer.json to hand the library), it recognises
 * GPT-2 and keeps the JSON of existing run directories, and HfJsonTokenizerTest checks that both
 * give the library's ids on the byte-level fixture.
 *
 * <p>If the vocabulary is GPT-2's own (the 50,257 tokens of {@code r50k_base} with the same ids,
 * and merge i making token 256 + i), the result is {@link Gpt2Tokenizer}, so a model imported
 * from GPT-2 shares its tokenizer JSON with Troupe's gpt2 datasets. Any other byte-level BPE
 * becomes an {@link HfBpeTokenizer}.
 */
public final class HfTokenizerFiles {

    /** GPT-2's vocabulary file: token string to id. */
    public static final String VOCAB = "vocab.json";
    /** GPT-2's merges file: {@code #version} line, then one {@code "left right"} per line, by rank. */
    public static final String MERGES = "merges.txt";
    /** The tokenizers library's single-file form. */
    public static final String TOKENIZER_JSON = "tokenizer.json";

    private HfTokenizerFiles() {
    }

    /**
     * The tokenizer of the model in {@code directory}.
     *
     * @throws DataException if the directory has none of the files, or they are malformed or not
     *     a byte-level BPE; the message names the file (and line) at fault
     */
    public static Tokenizer load(Path directory) throws DataException {
        Path vocabFile = directory.resolve(VOCAB);
        Path mergesFile = directory.resolve(MERGES);
        HfBpeTokenizer tokenizer;
        Path tokenizerJson = directory.resolve(TOKENIZER_JSON);
        if (Files.isRegularFile(vocabFile) && Files.isRegularFile(mergesFile)) {
            Map<String, Integer> vocab = vocab(readJson(vocabFile), vocabFile.toString());
            List<String> merges = mergesText(mergesFile);
            tokenizer = build(vocab, merges, vocabFile + " and " + mergesFile);
        } else if (Files.isRegularFile(tokenizerJson)) {
            if (!isPlainByteLevelBpe(readJson(tokenizerJson))) {
                return HfJsonTokenizer.load(tokenizerJson);
            }
            tokenizer = fromTokenizerJson(tokenizerJson);
        } else {
            throw new DataException(directory + " has neither " + VOCAB + " + " + MERGES + " nor " + TOKENIZER_JSON
                    + "; copy the model's tokenizer files next to its weights");
        }
        return isGpt2(tokenizer) ? Gpt2Tokenizer.get() : tokenizer;
    }

    /** A BPE model, a GPT-2 ByteLevel pre-tokenizer, and nothing that HfBpeTokenizer would ignore. */
    private static boolean isPlainByteLevelBpe(JsonNode root) {
        JsonNode pre = root.path("pre_tokenizer");
        return root.path("model").path("type").asText("BPE").equals("BPE")
                && pre.path("type").asText().equals("ByteLevel")
                && !pre.path("add_prefix_space").asBoolean(false)
                && pre.path("use_regex").asBoolean(true)
                && (root.path("normalizer").isNull() || root.path("normalizer").isMissingNode());
    }

    private static HfBpeTokenizer fromTokenizerJson(Path file) throws DataException {
        JsonNode root = readJson(file);
        JsonNode model = root.path("model");
        if (!model.path("type").asText("BPE").equals("BPE")) {
            throw new DataException(file + " has a " + model.path("type").asText() + " model; Troupe reads byte-level BPE"
                    + " tokenizers (GPT-2's kind) only");
        }
        JsonNode pre = root.path("pre_tokenizer");
        if (!pre.path("type").asText().equals("ByteLevel")) {
            throw new DataException(file + " has pre_tokenizer " + pre.path("type").asText("(none)") + "; Troupe reads"
                    + " byte-level BPE tokenizers (pre_tokenizer ByteLevel) only");
        }
        if (pre.path("add_prefix_space").asBoolean(false) || !pre.path("use_regex").asBoolean(true)) {
            throw new DataException(file + " has a ByteLevel pre_tokenizer with add_prefix_space true or use_regex"
                    + " false; Troupe splits text as GPT-2 does (no prefix space, GPT-2's pattern)");
        }
        if (!model.path("vocab").isObject() || !model.path("merges").isArray()) {
            throw new DataException(file + " has no model.vocab object and model.merges array");
        }
        Map<String, Integer> vocab = vocab(model.get("vocab"), file.toString());
        for (JsonNode added : root.path("added_tokens")) {
            vocab.putIfAbsent(added.path("content").asText(), added.path("id").asInt());
        }
        List<String> merges;
        try {
            merges = merges(model.get("merges"));
        } catch (IllegalArgumentException e) {
            throw new DataException(file + ": " + e.getMessage(), e);
        }
        return build(vocab, merges, file.toString());
    }

    private static HfBpeTokenizer build(Map<String, Integer> vocab, List<String> merges, String where) {
        try {
            return HfBpeTokenizer.of(vocab, merges);
        } catch (IllegalArgumentException e) {
            throw new DataException(where + ": " + e.getMessage() + "; these are not a byte-level BPE tokenizer's files");
        }
    }

    /** Whether {@code t} is GPT-2's r50k_base: same bytes for every id, merge i making id 256 + i. */
    static boolean isGpt2(HfBpeTokenizer t) {
        if (t.vocabSize() != Gpt2Tokenizer.VOCAB_SIZE || t.merges().size() != Gpt2Tokenizer.VOCAB_SIZE - 257) {
            return false;
        }
        for (int i = 0; i < t.merges().size(); i++) {
            Integer id = t.vocab().get(t.merges().get(i).replace(" ", ""));
            if (id == null || id != 256 + i) {
                return false;
            }
        }
        Gpt2Tokenizer gpt2 = Gpt2Tokenizer.get();
        for (int id = 0; id < Gpt2Tokenizer.VOCAB_SIZE; id++) {
            int[] one = {id};
            if (!Arrays.equals(t.decodeBytes(one), gpt2.decodeBytes(one))) {
                return false;
            }
        }
        return true;
    }

    private static JsonNode readJson(Path file) throws DataException {
        try {
            JsonNode root = TokenizerJson.MAPPER.readTree(Files.readString(file));
            if (root == null || !root.isObject()) {
                throw new DataException(file + " is not a JSON object");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new DataException(file + " is not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new DataException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Integer> vocab(JsonNode node, String where) throws DataException {
        try {
            return vocab(node);
        } catch (IllegalArgumentException e) {
            throw new DataException(where + ": " + e.getMessage(), e);
        }
    }

    /** A JSON object of token to integer id. */
    static Map<String, Integer> vocab(JsonNode node) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isInt()) {
                throw new IllegalArgumentException("token '" + e.getKey() + "' has id " + e.getValue() + ", not an integer");
            }
            vocab.put(e.getKey(), e.getValue().intValue());
        }
        return vocab;
    }

    /** A JSON array of merges, each {@code "left right"} or {@code ["left", "right"]} (newer tokenizer.json). */
    static List<String> merges(JsonNode node) {
        List<String> merges = new ArrayList<>(node.size());
        for (JsonNode merge : node) {
            if (merge.isTextual()) {
                merges.add(merge.asText());
            } else if (merge.isArray() && merge.size() == 2 && merge.get(0).isTextual() && merge.get(1).isTextual()) {
                merges.add(merge.get(0).asText() + " " + merge.get(1).asText());
            } else {
                throw new IllegalArgumentException("merge " + (merges.size() + 1) + " " + merge
                        + " is neither \"left right\" nor [\"left\", \"right\"]");
            }
        }
        return merges;
    }

    private static List<String> mergesText(Path file) throws DataException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new DataException("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<String> merges = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if ((i == 0 && line.startsWith("#version")) || line.isEmpty()) {
                continue;
            }
            merges.add(line);
        }
        return merges;
    }
}
