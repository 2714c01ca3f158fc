package io.troupe.data.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.troupe.data.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json} (WordPiece or BPE, with whatever normalizer,
 * pre-tokenizer and decoder the file names), run by the Hugging Face tokenizers library itself
 * through DJL ({@link HfNativeTokenizers}), so its ids are the reference implementation's:
 * BERT's WordPiece with {@code BertNormalizer} (lowercasing, accent stripping, CJK splitting) and
 * {@code BertPreTokenizer}, GPT-2's byte-level BPE, SentencePiece-style Metaspace BPE.
 *
 * <p>{@link #encode} adds no special tokens and neither truncates nor pads, whatever the file's
 * post-processor, truncation and padding say: a model adds {@code [CLS]}/{@code [SEP]} itself
 * ({@link #tokenId(String)} gives their ids). Special tokens written in the text (e.g.
 * {@code "The [MASK] sat"}) are matched as the library does, so they become their ids.
 * {@link #decode} is the file's decoder; for WordPiece it is not the inverse of encode (the text
 * was lowercased and its accents stripped).
 *
 * <p>Saved form: the original {@code tokenizer.json} text, unchanged, so a run directory's
 * {@value Tokenizer#FILE_NAME} is still a file the Python library reads, and
 * {@link Tokenizer#load} recognises it by its {@code "model"} object (it has no {@code "type"}).
 *
 * <p>Thread-safe: the native tokenizer is immutable once built. Its native memory is freed when
 * this object is garbage collected.
 */
public final class HfJsonTokenizer implements Tokenizer {

    /** The {@link #type()} of a Hugging Face tokenizer.json. */
    public static final String TYPE = "hf_json";

    /** The {@code model.type} values this class accepts (those the fixture test checks). */
    static final Set<String> MODELS = Set.of("WordPiece", "BPE");

    // Tried in order by endOfTextId(): GPT-2's, BERT's separator, SentencePiece's end of sentence.
    private static final String[] END_OF_TEXT_TOKENS = {BpeTokenizer.END_OF_TEXT, "[SEP]", "</s>"};

    private final String json;
    private final String model;
    private final String[] tokens;
    private final Map<String, Integer> ids;
    private final HuggingFaceTokenizer tokenizer;

    private HfJsonTokenizer(String json, String model, String[] tokens, Map<String, Integer> ids,
                            HuggingFaceTokenizer tokenizer) {
        this.json = json;
        this.model = model;
        this.tokens = tokens;
        this.ids = ids;
        this.tokenizer = tokenizer;
    }

    /**
     * Reads a Hugging Face {@code tokenizer.json}.
     *
     * @throws DataException if the file is missing or unreadable, not JSON, its model is not
     *     WordPiece or BPE, its vocabulary's ids are not exactly 0..n-1, or the tokenizers
     *     library rejects it; the message names the file and the problem
     */
    public static HfJsonTokenizer load(Path tokenizerJson) throws DataException {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new DataException("tokenizer file " + tokenizerJson + " does not exist; pass the model's"
                    + " Hugging Face tokenizer.json");
        }
        String text;
        try {
            text = Files.readString(tokenizerJson);
        } catch (IOException e) {
            throw new DataException("cannot read tokenizer " + tokenizerJson + ": " + e.getMessage()
                    + "; check the file's permissions", e);
        }
        String source = "tokenizer " + tokenizerJson;
        JsonNode root;
        try {
            root = TokenizerJson.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new DataException(source + " is not valid JSON (" + e.getOriginalMessage().replace('\n', ' ')
                    + "); pass the model's Hugging Face tokenizer.json", e);
        }
        if (root == null || !root.isObject()) {
            throw new DataException(source + " is not a JSON object; pass the model's Hugging Face tokenizer.json");
        }
        return fromJsonTree(text, root, source);
    }

    /**
     * A tokenizer from the text of a tokenizer.json (e.g. one {@link WordPieceTrainer} built).
     *
     * @param source names the text in error messages
     * @throws DataException as {@link #load(Path)}
     */
    public static HfJsonTokenizer fromJson(String text, String source) throws DataException {
        try {
            JsonNode root = TokenizerJson.MAPPER.readTree(text);
            if (root == null || !root.isObject()) {
                throw new DataException(source + " is not a JSON object; pass a Hugging Face tokenizer.json");
            }
            return fromJsonTree(text, root, source);
        } catch (JsonProcessingException e) {
            throw new DataException(source + " is not valid JSON (" + e.getOriginalMessage().replace('\n', ' ')
                    + "); pass a Hugging Face tokenizer.json", e);
        }
    }

    /** Whether {@code root} looks like a Hugging Face tokenizer.json rather than a Troupe tokenizer. */
    static boolean isHfTokenizerJson(JsonNode root) {
        return !root.has("type") && root.path("model").isObject();
    }

    static HfJsonTokenizer fromJsonTree(String text, JsonNode root, String source) throws DataException {
        JsonNode modelNode = root.path("model");
        if (!modelNode.isObject()) {
            throw new DataException(source + " has no \"model\" object; a Hugging Face tokenizer.json names its"
                    + " model (WordPiece or BPE) and vocabulary there");
        }
        String model = modelNode.path("type").asText("");
        if (!MODELS.contains(model)) {
            throw new DataException(source + " has model type \"" + model + "\"; Troupe reads WordPiece and BPE"
                    + " tokenizer.json files");
        }
        JsonNode vocabNode = modelNode.path("vocab");
        if (!vocabNode.isObject() || vocabNode.isEmpty()) {
            throw new DataException(source + " has no model.vocab object of token to id");
        }
        Map<String, Integer> ids = new HashMap<>(vocabNode.size() * 2);
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            if (!e.getValue().isInt() || e.getValue().intValue() < 0) {
                throw new DataException(source + ": model.vocab token '" + e.getKey() + "' has id " + e.getValue()
                        + ", not a non-negative integer");
            }
            ids.put(e.getKey(), e.getValue().intValue());
        }
        for (JsonNode added : root.path("added_tokens")) {
            JsonNode content = added.get("content");
            JsonNode id = added.get("id");
            if (content == null || !content.isTextual() || id == null || !id.isInt() || id.intValue() < 0) {
                throw new DataException(source + ": added_tokens entry " + added + " lacks a text \"content\" and a"
                        + " non-negative integer \"id\"");
            }
            Integer before = ids.putIfAbsent(content.asText(), id.intValue());
            if (before != null && before != id.intValue()) {
                throw new DataException(source + ": added token '" + content.asText() + "' has id " + id.intValue()
                        + " but the vocabulary gives it " + before);
            }
        }
        String[] tokens = new String[ids.size()];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            int id = e.getValue();
            if (id >= tokens.length) {
                throw new DataException(source + ": token '" + e.getKey() + "' has id " + id + " but there are only "
                        + tokens.length + " tokens; Troupe needs ids 0.." + (tokens.length - 1) + " without gaps");
            }
            if (tokens[id] != null) {
                throw new DataException(source + ": tokens '" + tokens[id] + "' and '" + e.getKey() + "' share id "
                        + id);
            }
            tokens[id] = e.getKey();
        }
        HuggingFaceTokenizer tokenizer = HfNativeTokenizers.open(text, source);
        return new HfJsonTokenizer(text.strip(), model, tokens, Map.copyOf(ids), tokenizer);
    }

    @Override
    public String type() {
        return TYPE;
    }

    /** The file's {@code model.type}: {@code "WordPiece"} or {@code "BPE"}. */
    public String model() {
        return model;
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    /** The id of {@code token} (a vocabulary entry or added token, e.g. {@code "[MASK]"}), if it has one. */
    public OptionalInt tokenId(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * The vocabulary string of token {@code id} (e.g. {@code "##ing"}, {@code "Ġthe"}, {@code "[CLS]"}).
     *
     * @throws IllegalArgumentException if {@code id} is outside {@code [0, vocabSize())}
     */
    public String token(int id) {
        checkId(id, 0);
        return tokens[id];
    }

    @Override
    public OptionalInt endOfTextId() {
        for (String candidate : END_OF_TEXT_TOKENS) {
            OptionalInt id = tokenId(candidate);
            if (id.isPresent()) {
                return id;
            }
        }
        return OptionalInt.empty();
    }

    @Override
    public int[] encode(String text) {
        // The library's encoding, asked for ids only: HuggingFaceTokenizer.encode would also copy
        // out tokens, offsets and masks, about a third of the time on this path.
        long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
        long[] ids;
        try {
            ids = TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            checkId(ids[i], i);
            wide[i] = ids[i];
        }
        return tokenizer.decode(wide, false);
    }

    private void checkId(int id, int position) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException("token id " + id + " at position " + position + " is outside the "
                    + model + " vocabulary [0, " + tokens.length + ")");
        }
    }

    /** The original tokenizer.json text (without trailing whitespace). */
    @Override
    public String toJson() {
        return json;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HfJsonTokenizer that && json.equals(that.json);
    }

    @Override
    public int hashCode() {
        return json.hashCode();
    }

    @Override
    public String toString() {
        return "HfJsonTokenizer[" + model + ", vocabSize=" + tokens.length + "]";
    }
}
