package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * {@code POST /v1/embeddings} for an encoder model, in OpenAI's request and response shape:
 * {@code {"model", "input": string | [strings], "encoding_format": "float" | "base64",
 * "dimensions"?}} to {@code {"object": "list", "data": [{"object": "embedding", "index",
 * "embedding"}], "model", "usage"}}. The vectors are {@code troupe embed}'s (the export's pooling,
 * mean or [CLS]); base64 is the little-endian float32 bytes, as OpenAI sends them. The ORT runs
 * happen one request at a time on their own thread ({@link LeasedQueue}); at most the server's
 * queue limit wait (429 beyond). Every embedded text counts toward the drift window.
 */
final class EmbeddingsEndpoint implements AutoCloseable {
    /** Most texts one request may embed (OpenAI's own limit). */
    static final int MAX_INPUTS = 2048;

    private final ObjectMapper json;
    private final TextObserver observer;
    private final LeasedQueue queue;

    EmbeddingsEndpoint(LeasedQueue.Leases leases, ObjectMapper json, int queueLimit, TextObserver observer) {
        this.json = json;
        this.observer = observer;
        this.queue = new LeasedQueue(leases, "troupe-embed", queueLimit,
                "the server is busy: too many embedding requests are waiting; retry later");
    }

    /** A parsed request: the texts in order and whether to answer base64. */
    record Request(String model, List<String> texts, boolean base64, Integer dimensions) {
        static Request parse(JsonNode body) throws ApiError {
            TextInputs inputs = TextInputs.parse(body, MAX_INPUTS, "embeds");
            JsonNode format = body.get("encoding_format");
            boolean base64 = false;
            if (format != null && !format.isNull()) {
                if (!format.isTextual() || !(format.asText().equals("float") || format.asText().equals("base64"))) {
                    throw ApiError.invalid("encoding_format", "invalid_value", "'encoding_format' must be \"float\" or \"base64\"");
                }
                base64 = format.asText().equals("base64");
            }
            JsonNode dims = body.get("dimensions");
            Integer dimensions = null;
            if (dims != null && !dims.isNull()) {
                if (!dims.canConvertToExactIntegral() || !dims.canConvertToInt() || dims.asInt() < 1) {
                    throw ApiError.invalid("dimensions", "invalid_type", "'dimensions' must be a positive integer");
                }
                dimensions = dims.asInt();
            }
            return new Request(inputs.model(), inputs.texts(), base64, dimensions);
        }
    }

    /** Answers one request; failures complete exceptionally with an {@link ApiError} (or a bug). */
    CompletionStage<HttpResponse> embed(JsonNode body) {
        Request request;
        try {
            request = Request.parse(body);
        } catch (ApiError e) {
            return CompletableFuture.failedFuture(e);
        }
        return queue.submit(request.model(), m -> {
            if (!m.isEncoder()) {
                throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is a " + m.kind()
                        + "; it cannot make embeddings (use " + m.endpoints() + ")");
            }
            return request;
        }, this::answer);
    }

    /** The vectors of the request's texts, on the queue's thread; the texts then count toward the drift window. */
    private HttpResponse answer(ServedModel m, Request request) throws Exception {
        float[][] vectors = m.encoder.embed(request.texts()); // [texts][C]
        int width = vectors[0].length;
        if (request.dimensions() != null && request.dimensions() != width) {
            throw ApiError.invalid("dimensions", "invalid_value", "model '" + m.id + "' makes vectors of " + width
                    + " dimensions and cannot shorten them; omit 'dimensions' or send " + width);
        }
        ObjectNode answer = json.createObjectNode().put("object", "list");
        ArrayNode data = answer.putArray("data");
        for (int i = 0; i < vectors.length; i++) {
            ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
            if (request.base64()) {
                item.put("embedding", base64(vectors[i]));
            } else {
                ArrayNode values = item.putArray("embedding");
                for (float v : vectors[i]) {
                    values.add(v);
                }
            }
        }
        answer.put("model", m.id);
        int tokens = 0;
        for (String text : request.texts()) {
            tokens += m.encoder.tokensRead(text);
            observer.observe(m, text);
        }
        answer.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return HttpResponse.create().withStatus(200)
                .withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(answer));
    }

    /** The vector as OpenAI's base64: little-endian float32 bytes. */
    static String base64(float[] vector) {
        ByteBuffer bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : vector) {
            bytes.putFloat(v);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    @Override
    public void close() {
        queue.close();
    }
}
