package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * {@code POST /v1/embeddings} for an encoder model, in OpenAI's request and response shape:
 * {@code {"model", "input": string | [strings], "encoding_format": "float" | "base64",
 * "dimensions"?}} to {@code {"object": "list", "data": [{"object": "embedding", "index",
 * "embedding"}], "model", "usage"}}. The vectors are {@code troupe embed}'s (the export's pooling,
 * mean or [CLS]); base64 is the little-endian float32 bytes, as OpenAI sends them. The ORT runs
 * happen one request at a time on their own thread, off pekko's dispatcher; at most the server's
 * queue limit wait (429 beyond).
 */
final class EmbeddingsEndpoint implements AutoCloseable {
    /** Most texts one request may embed (OpenAI's own limit). */
    static final int MAX_INPUTS = 2048;

    private final ExplainEndpoint.Leases leases;
    private final ObjectMapper json;
    private final ThreadPoolExecutor executor;

    EmbeddingsEndpoint(ExplainEndpoint.Leases leases, ObjectMapper json, int queueLimit) {
        this.leases = leases;
        this.json = json;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(Math.max(1, queueLimit)),
                r -> {
                    Thread t = new Thread(r, "troupe-embed");
                    t.setDaemon(true);
                    return t;
                });
    }

    /** A parsed request: the texts in order and whether to answer base64. */
    record Request(String model, List<String> texts, boolean base64, Integer dimensions) {
        static Request parse(JsonNode body) throws ApiError {
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
            if (texts.size() > MAX_INPUTS) {
                throw ApiError.invalid("input", "invalid_value", "'input' has " + texts.size() + " texts; at most "
                        + MAX_INPUTS + " per request");
            }
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
            return new Request(model == null || model.isNull() ? null : model.asText(), List.copyOf(texts), base64, dimensions);
        }
    }

    /** Answers one request; failures complete exceptionally with an {@link ApiError} (or a bug). */
    CompletionStage<HttpResponse> embed(JsonNode body) {
        Request request;
        ServedModel.Lease lease;
        try {
            request = Request.parse(body);
            lease = leases.acquire();
        } catch (ApiError e) {
            return CompletableFuture.failedFuture(e);
        }
        ServedModel m = lease.model();
        try {
            if (!m.isEncoder()) {
                throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is a " + m.kind()
                        + "; it cannot make embeddings (use " + m.endpoints() + ")");
            }
            OpenAiServer.checkModel(m, request.model());
            return CompletableFuture.supplyAsync(() -> {
                try (lease) {
                    float[][] vectors = m.encoder.embed(request.texts()); // [texts][C]
                    int width = vectors[0].length;
                    if (request.dimensions() != null && request.dimensions() != width) {
                        throw new CompletionException(ApiError.invalid("dimensions", "invalid_value", "model '" + m.id
                                + "' makes vectors of " + width + " dimensions and cannot shorten them; omit 'dimensions'"
                                + " or send " + width));
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
                    }
                    answer.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
                    return HttpResponse.create().withStatus(200)
                            .withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(answer));
                } catch (CompletionException e) {
                    throw e;
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            }, executor);
        } catch (ApiError e) {
            lease.close();
            return CompletableFuture.failedFuture(e);
        } catch (RejectedExecutionException e) {
            lease.close();
            return CompletableFuture.failedFuture(new ApiError(429, "rate_limit_exceeded", null, "queue_full",
                    "the server is busy: too many embedding requests are waiting; retry later"));
        }
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
        executor.shutdownNow();
    }
}
