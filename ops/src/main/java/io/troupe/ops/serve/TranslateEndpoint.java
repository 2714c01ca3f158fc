package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.ops.translate.Seq2SeqDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * {@code POST /v1/translate}: {@code {"model"?, "input": string | [strings], "beam"?: 1..8,
 * "length_penalty"?: number >= 0}} to {@code {"object": "list", "model", "data": [{"object":
 * "translation", "index", "translation"}], "usage": {"prompt_tokens", "completion_tokens"}}}, with
 * a seq2seq model ({@code troupe train-seq2seq}) served. Another kind of model is a 400, so is an
 * input longer than the encoder's positions (it is never cut silently), more inputs than
 * {@link ServeLimits#maxN()}, or a bad field. Decoding blocks in ONNX Runtime, so it runs on its own
 * thread, one request at a time; more than {@link ServeLimits#queueLimit()} waiting requests get 429.
 */
final class TranslateEndpoint implements AutoCloseable {
    /** The widest beam a request may ask for: each beam is a decoder row per step. */
    static final int MAX_BEAM = 8;

    /** Where a request gets its hold on the served model. */
    @FunctionalInterface
    interface Leases {
        ServedModel.Lease acquire() throws ApiError;
    }

    private final Leases leases;
    private final ObjectMapper json;
    private final ServeLimits limits;
    private final AtomicInteger waiting = new AtomicInteger();
    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "troupe-translate");
        t.setDaemon(true);
        return t;
    });

    TranslateEndpoint(Leases leases, ObjectMapper json, ServeLimits limits) {
        this.leases = leases;
        this.json = json;
        this.limits = limits;
    }

    /** A parsed request. */
    record Request(List<String> inputs, int beam, double lengthPenalty) {
        static Request parse(JsonNode body, int maxInputs) throws ApiError {
            JsonNode input = body.path("input");
            List<String> inputs = new ArrayList<>();
            if (input.isTextual()) {
                inputs.add(input.asText());
            } else if (input.isArray() && !input.isEmpty()) {
                for (JsonNode item : input) {
                    if (!item.isTextual()) {
                        throw ApiError.invalid("input", "invalid_type", "input must be a string or a non-empty array of strings");
                    }
                    inputs.add(item.asText());
                }
            } else {
                throw ApiError.invalid("input", "invalid_type", "input must be a string or a non-empty array of strings");
            }
            if (inputs.size() > maxInputs) {
                throw ApiError.invalid("input", "too_many_inputs", inputs.size() + " inputs; at most " + maxInputs
                        + " per request");
            }
            int beam = 1;
            if (body.has("beam")) {
                JsonNode b = body.get("beam");
                if (!b.canConvertToInt() || !b.isIntegralNumber() || b.asInt() < 1 || b.asInt() > MAX_BEAM) {
                    throw ApiError.invalid("beam", "invalid_value", "beam must be an integer from 1 to " + MAX_BEAM);
                }
                beam = b.asInt();
            }
            double penalty = 1.0;
            if (body.has("length_penalty")) {
                JsonNode p = body.get("length_penalty");
                if (!p.isNumber() || !(p.asDouble() >= 0) || Double.isInfinite(p.asDouble()) || p.asDouble() > 10) {
                    throw ApiError.invalid("length_penalty", "invalid_value", "length_penalty must be a number from 0 to 10");
                }
                penalty = p.asDouble();
            }
            return new Request(inputs, beam, penalty);
        }
    }

    /** Answers one request; refusals complete with the error response. */
    CompletionStage<HttpResponse> translate(JsonNode body) {
        Request request;
        ServedModel.Lease lease;
        try {
            request = Request.parse(body, limits.maxN());
            lease = leases.acquire();
        } catch (ApiError e) {
            return CompletableFuture.failedFuture(e);
        }
        ServedModel m = lease.model();
        Seq2SeqDecoder decoder = m.translator;
        List<int[]> sources = new ArrayList<>();
        int promptTokens = 0;
        try {
            if (decoder == null) {
                throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is not a seq2seq model; "
                        + "/v1/translate needs one from `troupe train-seq2seq`");
            }
            OpenAiServer.checkModel(m, body.path("model").isTextual() ? body.get("model").asText() : null);
            int max = decoder.model().config().maxSource();
            for (int i = 0; i < request.inputs().size(); i++) {
                int[] ids = decoder.model().tokenizer().encode(request.inputs().get(i));
                if (ids.length > max) {
                    throw ApiError.invalid("input", "input_too_long", "input " + i + " has " + ids.length
                            + " tokens; the model's encoder takes at most " + max);
                }
                promptTokens += ids.length;
                sources.add(ids);
            }
            if (waiting.incrementAndGet() > limits.queueLimit()) {
                waiting.decrementAndGet();
                throw new ApiError(429, "rate_limit_exceeded", null, "queue_full", "too many translation requests are"
                        + " waiting; retry shortly");
            }
        } catch (ApiError e) {
            lease.close();
            return CompletableFuture.failedFuture(e);
        }
        int prompt = promptTokens;
        return CompletableFuture.supplyAsync(() -> {
            try (lease) {
                ObjectNode answer = json.createObjectNode().put("object", "list").put("model", m.id);
                var data = answer.putArray("data");
                int completion = 0;
                for (int i = 0; i < sources.size(); i++) {
                    int[] src = sources.get(i);
                    int[] out = src.length == 0 ? new int[0]
                            : decoder.beam(src, request.beam(), request.lengthPenalty(),
                                    decoder.model().config().maxTarget() - 1);
                    completion += out.length;
                    data.addObject().put("object", "translation").put("index", i)
                            .put("translation", decoder.text(out));
                }
                answer.putObject("usage").put("prompt_tokens", prompt).put("completion_tokens", completion)
                        .put("total_tokens", prompt + completion);
                return HttpResponse.create().withStatus(200)
                        .withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(answer));
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            } finally {
                waiting.decrementAndGet();
            }
        }, executor);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
