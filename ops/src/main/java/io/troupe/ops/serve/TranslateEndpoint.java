package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.ops.translate.Seq2SeqDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * {@code POST /v1/translate}: {@code {"model"?, "input": string | [strings], "beam"?: 1..8,
 * "length_penalty"?: number >= 0}} to {@code {"object": "list", "model", "data": [{"object":
 * "translation", "index", "translation"}], "usage": {"prompt_tokens", "completion_tokens"}}}, with
 * a seq2seq model ({@code troupe train-seq2seq}) served. Another kind of model is a 400, so is an
 * input longer than the encoder's positions (it is never cut silently), more inputs than
 * {@link ServeLimits#maxN()}, or a bad field. Decoding blocks in ONNX Runtime, so it runs on its own
 * thread, one request at a time ({@link LeasedQueue}); more than {@link ServeLimits#queueLimit()}
 * waiting requests get 429.
 */
final class TranslateEndpoint implements AutoCloseable {
    /** The widest beam a request may ask for: each beam is a decoder row per step. */
    static final int MAX_BEAM = 8;

    private final ObjectMapper json;
    private final ServeLimits limits;
    private final LeasedQueue queue;
    private final TextObserver observer;

    TranslateEndpoint(LeasedQueue.Leases leases, ObjectMapper json, ServeLimits limits, TextObserver observer) {
        this.json = json;
        this.limits = limits;
        this.observer = observer;
        this.queue = new LeasedQueue(leases, "troupe-translate", limits.queueLimit(),
                "too many translation requests are waiting; retry shortly");
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
        try {
            request = Request.parse(body, limits.maxN());
        } catch (ApiError e) {
            return CompletableFuture.failedFuture(e);
        }
        String model = body.path("model").isTextual() ? body.get("model").asText() : null;
        return queue.submit(model, m -> sources(m, request), (m, sources) -> answer(m, request, sources));
    }

    /** The inputs' token ids; 400 for another kind of model or an input longer than the encoder's positions. */
    private static List<int[]> sources(ServedModel m, Request request) throws ApiError {
        Seq2SeqDecoder decoder = m.translator;
        if (decoder == null) {
            throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is not a seq2seq model; "
                    + "/v1/translate needs one from `troupe train-seq2seq`");
        }
        int max = decoder.model().config().maxSource();
        List<int[]> sources = new ArrayList<>();
        for (int i = 0; i < request.inputs().size(); i++) {
            int[] ids = decoder.model().tokenizer().encode(request.inputs().get(i));
            if (ids.length > max) {
                throw ApiError.invalid("input", "input_too_long", "input " + i + " has " + ids.length
                        + " tokens; the model's encoder takes at most " + max);
            }
            sources.add(ids);
        }
        return sources;
    }

    /** The translations, on the queue's thread. */
    private HttpResponse answer(ServedModel m, Request request, List<int[]> sources) throws Exception {
        Seq2SeqDecoder decoder = m.translator;
        ObjectNode answer = json.createObjectNode().put("object", "list").put("model", m.id);
        var data = answer.putArray("data");
        int prompt = 0;
        int completion = 0;
        for (int i = 0; i < sources.size(); i++) {
            int[] src = sources.get(i);
            prompt += src.length;
            int[] out = src.length == 0 ? new int[0]
                    : decoder.beam(src, request.beam(), request.lengthPenalty(), decoder.model().config().maxTarget() - 1);
            completion += out.length;
            data.addObject().put("object", "translation").put("index", i).put("translation", decoder.text(out));
        }
        // Counted once translated: a refused request (another model, an input too long) counts nothing.
        request.inputs().forEach(text -> observer.observe(m, text));
        answer.putObject("usage").put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
        return HttpResponse.create().withStatus(200)
                .withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(answer));
    }

    @Override
    public void close() {
        queue.close();
    }
}
