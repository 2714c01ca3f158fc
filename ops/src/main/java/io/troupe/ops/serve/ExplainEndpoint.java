package io.troupe.ops.serve;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import io.troupe.ops.explain.ExplainException;
import io.troupe.ops.explain.Explainer;
import io.troupe.ops.explain.Explanation;
import java.nio.file.Path;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/explain}: the body of {@link ExplainRequest} to the JSON of {@code troupe
 * explain --json}. Explanations run one at a time on their own thread, off pekko's and away from
 * classification; at most the server's queue limit wait (429 beyond). The served model's
 * {@link Explainer} is opened on the first explanation and replaced when the model is swapped.
 * The explained text counts toward the drift window (it is a text sent to the model).
 * A text longer than the context is truncated, and the header {@value #TRUNCATED_HEADER} says by
 * how many tokens.
 */
final class ExplainEndpoint implements AutoCloseable {
    /** Response header: tokens of the input left out because it is longer than the model's context. */
    static final String TRUNCATED_HEADER = "Troupe-Truncated-Tokens";

    private final ObjectMapper json;
    private final TextObserver observer;
    private final LeasedQueue queue;
    private final Map<ServedModel, Opening> openings = new WeakHashMap<>();
    private ServedModel explained;
    private Explainer explainer;

    private record Opening(Path dir, int threads) {
    }

    ExplainEndpoint(LeasedQueue.Leases leases, ObjectMapper json, int queueLimit, TextObserver observer) {
        this.json = json;
        this.observer = observer;
        this.queue = new LeasedQueue(leases, "troupe-explain", queueLimit,
                "too many explanations are waiting; retry shortly");
    }

    /** Remembers where {@code model} was loaded from, to open its explainer when first asked. */
    synchronized void register(ServedModel model, Path dir, int threads) {
        openings.put(model, new Opening(dir, threads));
    }

    /**
     * Answers one request; failures complete exceptionally with an {@link ApiError} (or a bug).
     * The explained text counts toward the drift window, as every text sent to the model does.
     */
    CompletionStage<HttpResponse> explain(JsonNode body) {
        ExplainRequest request;
        try {
            request = ExplainRequest.parse(body);
        } catch (ApiError e) {
            return CompletableFuture.failedFuture(e);
        }
        String model = body.path("model").isTextual() ? body.get("model").asText() : null;
        return queue.submit(model, m -> request, (m, r) -> {
            Explanation e;
            try {
                e = explainerFor(m).explain(r.text(), r.options());
            } catch (ExplainException bad) {
                throw ApiError.invalid(bad.param(), "invalid_value", bad.getMessage());
            }
            observer.observe(m, r.text());
            return HttpResponse.create().withStatus(200)
                    .addHeader(RawHeader.create(TRUNCATED_HEADER, Integer.toString(e.truncated())))
                    .withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(e.toJson(json)));
        });
    }

    /** The explainer of {@code model}, opened on first use; the previous model's is closed. Runs on the one explain thread. */
    private synchronized Explainer explainerFor(ServedModel model) throws DataException, OrtException {
        if (explained != model) {
            closeExplainer();
            Opening opening = openings.get(model);
            if (opening == null) {
                throw new IllegalStateException("model " + model.id + " was not registered for explanations");
            }
            explainer = Explainer.open(opening.dir(), opening.threads());
            explained = model;
        }
        return explainer;
    }

    private void closeExplainer() {
        if (explainer != null) {
            try {
                explainer.close();
            } catch (OrtException e) {
                LoggerFactory.getLogger(ExplainEndpoint.class).warn("closing an explainer failed", e);
            }
            explainer = null;
            explained = null;
        }
    }

    @Override
    public synchronized void close() {
        queue.close();
        closeExplainer();
    }
}
