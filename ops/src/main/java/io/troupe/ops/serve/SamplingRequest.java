package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields a completion and a chat completion share, read from a request body and checked
 * against the {@link ServeLimits}. Fields the server does not use are ignored, as OpenAI
 * clients send many.
 *
 * @param model the requested model id, or null when absent
 * @param prompt the prompt text (a chat's messages already rendered through the template)
 */
record SamplingRequest(String model, String prompt, int maxTokens, int n, double temperature, double topP, Long seed,
        List<String> stop, boolean stream, boolean includeUsage) {

    private static final int MAX_STOP_STRINGS = 4;

    /** A {@code POST /v1/completions} body. */
    static SamplingRequest completion(JsonNode body, ServeLimits limits) throws ApiError {
        requireObject(body);
        JsonNode prompt = body.get("prompt");
        String text;
        if (prompt == null || prompt.isNull()) {
            throw ApiError.invalid("prompt", "missing_required_parameter", "'prompt' is required");
        } else if (prompt.isTextual()) {
            text = prompt.asText();
        } else if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
            text = prompt.get(0).asText();
        } else {
            throw ApiError.invalid("prompt", "invalid_type", "'prompt' must be a string (or an array of one string); "
                    + "this server takes one prompt per request and no token arrays");
        }
        return common(body, text, 16, limits);
    }

    /** A {@code POST /v1/chat/completions} body; the messages become one prompt through {@code template}. */
    static SamplingRequest chat(JsonNode body, ChatTemplate template, ServeLimits limits) throws ApiError {
        requireObject(body);
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiError.invalid("messages", "invalid_type", "'messages' must be a non-empty array of {role, content}");
        }
        List<ChatTemplate.Message> list = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String param = "messages[" + i + "]";
            if (!m.isObject() || !m.path("role").isTextual()) {
                throw ApiError.invalid(param, "invalid_type", param + " must be an object with a string 'role'");
            }
            list.add(new ChatTemplate.Message(m.get("role").asText(), content(m.get("content"), param)));
        }
        JsonNode newer = body.get("max_completion_tokens");
        int defaultMaxTokens = Math.min(256, limits.maxTokens());
        SamplingRequest r = common(body, template.render(list), defaultMaxTokens, limits);
        if (newer != null && !newer.isNull() && (body.get("max_tokens") == null || body.get("max_tokens").isNull())) {
            int maxTokens = intField(body, "max_completion_tokens", defaultMaxTokens);
            checkTokens(maxTokens, r.n(), "max_completion_tokens", limits);
            r = new SamplingRequest(r.model, r.prompt, maxTokens, r.n, r.temperature, r.topP, r.seed, r.stop, r.stream,
                    r.includeUsage);
        }
        return r;
    }

    /** A message's content: a string, or an array of {type: "text", text} parts. */
    private static String content(JsonNode content, String param) throws ApiError {
        if (content != null && content.isTextual()) {
            return content.asText();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiError.invalid(param + ".content", "invalid_type",
                            "only text content parts ({\"type\":\"text\",\"text\":...}) are supported");
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw ApiError.invalid(param + ".content", "invalid_type", param + ".content must be a string");
    }

    static void requireObject(JsonNode body) throws ApiError {
        if (body == null || !body.isObject()) {
            throw ApiError.invalid(null, "invalid_json", "the request body must be a JSON object");
        }
    }

    private static SamplingRequest common(JsonNode body, String prompt, int defaultMaxTokens, ServeLimits limits)
            throws ApiError {
        JsonNode modelNode = body.get("model");
        String model = null;
        if (modelNode != null && !modelNode.isNull()) {
            if (!modelNode.isTextual()) {
                throw ApiError.invalid("model", "invalid_type", "'model' must be a string");
            }
            model = modelNode.asText();
        }
        int maxTokens = intField(body, "max_tokens", defaultMaxTokens);
        int n = intField(body, "n", 1);
        if (n < 1 || n > limits.maxN()) {
            throw ApiError.invalid("n", "invalid_value", "'n' must be between 1 and " + limits.maxN() + ", got " + n);
        }
        checkTokens(maxTokens, n, "max_tokens", limits);
        double temperature = numberField(body, "temperature", 1.0);
        if (!(temperature >= 0 && temperature <= 2)) {
            throw ApiError.invalid("temperature", "invalid_value", "'temperature' must be between 0 and 2, got " + temperature);
        }
        double topP = numberField(body, "top_p", 1.0);
        if (!(topP > 0 && topP <= 1)) {
            throw ApiError.invalid("top_p", "invalid_value", "'top_p' must be in (0, 1], got " + topP);
        }
        Long seed = null;
        JsonNode seedNode = body.get("seed");
        if (seedNode != null && !seedNode.isNull()) {
            if (!seedNode.canConvertToLong() || !seedNode.isIntegralNumber()) {
                throw ApiError.invalid("seed", "invalid_type", "'seed' must be an integer");
            }
            seed = seedNode.asLong();
        }
        boolean stream = booleanField(body, "stream");
        boolean includeUsage = stream && body.path("stream_options").path("include_usage").asBoolean(false);
        return new SamplingRequest(model, prompt, maxTokens, n, temperature, topP, seed, stops(body.get("stop")), stream,
                includeUsage);
    }

    private static void checkTokens(int maxTokens, int n, String param, ServeLimits limits) throws ApiError {
        if (maxTokens < 1 || maxTokens > limits.maxTokens()) {
            throw ApiError.invalid(param, "invalid_value",
                    "'" + param + "' must be between 1 and " + limits.maxTokens() + ", got " + maxTokens);
        }
        if ((long) n * maxTokens > limits.maxRequestTokens()) {
            throw ApiError.invalid("n", "request_too_large", "n × " + param + " = " + n + " × " + maxTokens + " = "
                    + (long) n * maxTokens + " exceeds this server's budget of " + limits.maxRequestTokens()
                    + " tokens per request; lower n or " + param);
        }
    }

    private static List<String> stops(JsonNode stop) throws ApiError {
        List<String> stops = new ArrayList<>();
        if (stop == null || stop.isNull()) {
            return stops;
        }
        if (stop.isTextual()) {
            stops.add(stop.asText());
        } else if (stop.isArray() && stop.size() <= MAX_STOP_STRINGS) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw ApiError.invalid("stop", "invalid_type", "'stop' must be a string or an array of strings");
                }
                stops.add(s.asText());
            }
        } else {
            throw ApiError.invalid("stop", "invalid_type", "'stop' must be a string or an array of at most "
                    + MAX_STOP_STRINGS + " strings");
        }
        if (stops.contains("")) {
            throw ApiError.invalid("stop", "invalid_value", "'stop' strings must not be empty");
        }
        return stops;
    }

    private static int intField(JsonNode body, String name, int fallback) throws ApiError {
        JsonNode node = body.get(name);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw ApiError.invalid(name, "invalid_type", "'" + name + "' must be an integer");
        }
        return node.asInt();
    }

    private static double numberField(JsonNode body, String name, double fallback) throws ApiError {
        JsonNode node = body.get(name);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isNumber()) {
            throw ApiError.invalid(name, "invalid_type", "'" + name + "' must be a number");
        }
        return node.asDouble();
    }

    private static boolean booleanField(JsonNode body, String name) throws ApiError {
        JsonNode node = body.get(name);
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw ApiError.invalid(name, "invalid_type", "'" + name + "' must be true or false");
        }
        return node.asBoolean();
    }
}
