package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import io.troupe.ops.explain.ExplainMethod;
import io.troupe.ops.explain.ExplainOptions;

/**
 * The body of {@code POST /v1/explain}: {@code {"model", "input": string, "target": string,
 * "method": "grad-x-input" | "integrated-gradients" | "attention-rollout", "steps": int}}; all but
 * {@code input} optional, with the defaults of {@code troupe explain}.
 *
 * @param text the text to explain
 * @param options method, target and steps
 */
record ExplainRequest(String text, ExplainOptions options) {

    /**
     * @throws ApiError 400 naming the field that is missing, of the wrong type or out of range
     */
    static ExplainRequest parse(JsonNode body) throws ApiError {
        SamplingRequest.requireObject(body);
        optionalText(body, "model");
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
            throw ApiError.invalid("input", "missing_required_parameter", "'input' is required: the text to explain");
        }
        if (!input.isTextual()) {
            throw ApiError.invalid("input", "invalid_type", "'input' must be a string");
        }
        if (input.asText().isEmpty()) {
            throw ApiError.invalid("input", "invalid_value", "'input' is empty; send the text to explain");
        }
        String target = optionalText(body, "target");
        String methodName = optionalText(body, "method");
        ExplainMethod method;
        try {
            method = methodName == null ? ExplainMethod.INTEGRATED_GRADIENTS : ExplainMethod.parse(methodName);
        } catch (RuntimeException e) {
            throw ApiError.invalid("method", "invalid_value", "'method' must be one of " + ExplainMethod.names());
        }
        int steps = ExplainOptions.DEFAULT_STEPS;
        JsonNode stepsNode = body.get("steps");
        if (stepsNode != null && !stepsNode.isNull()) {
            if (!stepsNode.canConvertToInt() || !stepsNode.isIntegralNumber()
                    || stepsNode.asInt() < 1 || stepsNode.asInt() > ExplainOptions.MAX_STEPS) {
                throw ApiError.invalid("steps", "invalid_value", "'steps' must be an integer in [1, "
                        + ExplainOptions.MAX_STEPS + "]");
            }
            steps = stepsNode.asInt();
        }
        return new ExplainRequest(input.asText(), new ExplainOptions(method, target, steps));
    }

    private static String optionalText(JsonNode body, String field) throws ApiError {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw ApiError.invalid(field, "invalid_type", "'" + field + "' must be a string");
        }
        return node.asText();
    }
}
