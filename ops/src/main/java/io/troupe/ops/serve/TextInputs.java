package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code {"model"?, "input": string | [strings]}} part of a request body that
 * {@code /v1/classify} and {@code /v1/embeddings} share, read one way for both.
 *
 * @param model the model the client named, or null
 * @param texts the texts in order, at least one
 */
record TextInputs(String model, List<String> texts) {

    /**
     * Reads {@code body}'s {@code model} and {@code input}.
     *
     * @param maxInputs most texts one request may send
     * @param action what the server does with them, for the message refusing too many ("classifies")
     * @throws ApiError 400 when the body is not an object, {@code input} is missing, not a string
     *     or an array of strings, empty, or longer than {@code maxInputs}, or {@code model} is not a string
     */
    static TextInputs parse(JsonNode body, int maxInputs, String action) throws ApiError {
        SamplingRequest.requireObject(body);
        JsonNode model = body.get("model");
        if (model != null && !model.isNull() && !model.isTextual()) {
            throw ApiError.invalid("model", "invalid_type", "'model' must be a string");
        }
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
            throw ApiError.invalid("input", "missing_required_parameter", "'input' is required: a string or an array of strings");
        }
        List<String> texts = new ArrayList<>();
        if (input.isTextual()) {
            texts.add(input.asText());
        } else if (input.isArray()) {
            for (JsonNode item : input) {
                if (!item.isTextual()) {
                    throw ApiError.invalid("input", "invalid_type", "'input' must be a string or an array of strings"
                            + " (token arrays are not accepted: this server tokenizes with the model's own tokenizer)");
                }
                texts.add(item.asText());
            }
        } else {
            throw ApiError.invalid("input", "invalid_type", "'input' must be a string or an array of strings");
        }
        if (texts.isEmpty()) {
            throw ApiError.invalid("input", "invalid_value", "'input' is an empty array; send at least one text");
        }
        if (texts.size() > maxInputs) {
            throw ApiError.invalid("input", "invalid_value", "'input' has " + texts.size() + " texts; this server "
                    + action + " at most " + maxInputs + " per request");
        }
        return new TextInputs(model == null || model.isNull() ? null : model.asText(), List.copyOf(texts));
    }
}
