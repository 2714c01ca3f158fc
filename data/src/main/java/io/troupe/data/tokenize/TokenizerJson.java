package io.troupe.data.tokenize;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;

/**
 * Parses tokenizer JSON and hands it to the tokenizer class its {@code "type"} names.
 *
 * <p>A new tokenizer kind adds one case to
 * {@link #parse(String, String)}. A Hugging Face {@code tokenizer.json} has no {@code "type"}
 * but a {@code "model"} object; it is kept as it is ({@link HfJsonTokenizer}), so that file
 * round-trips unchanged through a run directory.
 */
final class TokenizerJson {

    static final ObjectMapper MAPPER = new ObjectMapper();

    private TokenizerJson() {
    }

    static Tokenizer parse(String json, String source) throws DataException {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new DataException(source + " is not valid JSON ("
                    + e.getOriginalMessage() + "); re-create it with prepare", e);
        }
        if (root == null || !root.isObject()) {
            throw new DataException(source + " is not a JSON object; re-create it with prepare");
        }
        if (HfJsonTokenizer.isHfTokenizerJson(root)) {
            return HfJsonTokenizer.fromJsonTree(json, root, source);
        }
        JsonNode type = root.get("type");
        if (type == null || !type.isTextual()) {
            throw new DataException(source + " has no \"type\" field (nor, as a Hugging Face tokenizer.json"
                    + " would, a \"model\" object); re-create it with prepare");
        }
        return switch (type.asText()) {
            case CharTokenizer.TYPE -> CharTokenizer.fromJsonTree(root, source);
            case Gpt2Tokenizer.TYPE -> Gpt2Tokenizer.fromJsonTree(root, source);
            case BpeTokenizer.TYPE -> BpeTokenizer.fromJsonTree(root, source);
            case HfBpeTokenizer.TYPE -> HfBpeTokenizer.fromJsonTree(root, source);
            default -> throw new DataException(source + " has unknown type \"" + type.asText()
                    + "\"; this version knows: " + CharTokenizer.TYPE + ", " + Gpt2Tokenizer.TYPE
                    + ", " + BpeTokenizer.TYPE + ", " + HfBpeTokenizer.TYPE
                    + ", and Hugging Face tokenizer.json files (no \"type\", a \"model\" object)");
        };
    }
}
