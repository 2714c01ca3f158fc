package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The body of {@code POST /v1/classify}: {@code {"model", "input": string | [strings]}}. */
final class ClassifyRequest {
    /** Most texts one request may classify, so one client cannot hold the model for long. */
    static final int MAX_INPUTS = 256;

    private ClassifyRequest() {
    }

    /**
     * The texts to classify, in order.
     *
     * @throws ApiError 400 when the body is not an object, {@code input} is missing, not a string
     *     or an array of strings, empty, or longer than {@link #MAX_INPUTS}, or {@code model} is not a string
     */
    static List<String> parse(JsonNode body) throws ApiError {
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
                    throw ApiError.invalid("input", "invalid_type", "'input' must be a string or an array of strings");
                }
                texts.add(item.asText());
            }
        } else {
            throw ApiError.invalid("input", "invalid_type", "'input' must be a string or an array of strings");
        }
        if (texts.isEmpty()) {
            throw ApiError.invalid("input", "invalid_value", "'input' is an empty array; send at least one text");
        }
        if (texts.size() > MAX_INPUTS) {
            throw ApiError.invalid("input", "invalid_value", "'input' has " + texts.size() + " texts; this server "
                    + "classifies at most " + MAX_INPUTS + " per request");
        }
        return texts;
    }
}
