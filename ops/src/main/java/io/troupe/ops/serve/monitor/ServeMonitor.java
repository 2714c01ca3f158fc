package io.troupe.ops.serve.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.labelled.ClassificationMetrics;
import io.troupe.ops.inference.ExportedClassifier;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything {@code troupe serve} watches about the model it serves, behind one object the
 * server calls: a {@link DriftMonitor} per loaded model, the ids of recent answers
 * ({@link RecentRequests}), the feedback store ({@code POST /v1/feedback}), a classifier's live
 * accuracy over labelled feedback, the {@code /health} details, and {@value #REPORT} written
 * into the model directory now and then for {@code troupe card}.
 */
public final class ServeMonitor implements AutoCloseable {
    /** The latest live numbers, written into the served model's directory for its model card. */
    public static final String REPORT = "serve_monitoring.json";
    private static final Logger log = LoggerFactory.getLogger(ServeMonitor.class);
    private static final int MAX_ID_LENGTH = 200;

    private final MonitorSettings settings;
    private final MonitorMetrics metrics;
    private final ObjectMapper json;
    private final Consumer<String> say;
    private final RecentRequests recent;
    private final FeedbackStore store;
    /** Writes feedback (an fsync each) and the report, off the server's request threads. */
    private final ScheduledExecutorService io = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "troupe-feedback");
        t.setDaemon(true);
        return t;
    });
    private volatile DriftMonitor current;
    private volatile LiveAccuracy accuracy;
    private volatile boolean alert;
    private long generations;
    private boolean reportFailed;

    /**
     * @param say receives the monitor's lines for the operator (reference computed, drift, accuracy alert), besides the log
     */
    public ServeMonitor(MonitorSettings settings, PrometheusRegistry registry, ObjectMapper json, Consumer<String> say) {
        this.settings = settings;
        this.metrics = new MonitorMetrics(registry);
        this.json = json;
        this.say = line -> {
            log.info(line);
            say.accept(line);
        };
        this.recent = new RecentRequests(settings.rememberedRequests(), RecentRequests.DEFAULT_MAX_CHARS);
        if (settings.feedbackDir() != null) {
            store = new FeedbackStore(settings.feedbackDir(), settings.feedbackMaxBytes(), settings.feedbackFiles());
            String problem = store.check();
            metrics.feedbackStoreOk.set(problem == null ? 1 : 0);
            if (problem != null) {
                this.say.accept(problem + "; serving goes on, /v1/feedback answers 503 until it can write");
            }
        } else {
            store = null;
        }
        io.scheduleWithFixedDelay(this::report, 30, 30, TimeUnit.SECONDS);
    }

    /**
     * Starts watching a model just loaded from {@code dir} (a language model, classifier or
     * encoder); it is the current one from now on. The caller closes the monitor before the model.
     */
    public synchronized DriftMonitor attach(Path dir, String modelId, MonitoredModel model) {
        DriftMonitor previous = current;
        if (previous != null) {
            report();
        }
        DriftMonitor monitor = new DriftMonitor(dir, modelId, ++generations, model, settings, metrics, say,
                m -> m == current);
        current = monitor;
        ExportedClassifier classifier = model.classifier();
        accuracy = classifier == null ? null : new LiveAccuracy(classifier.labels(), settings.accuracyWindow());
        alert = false;
        publishAccuracy();
        return monitor;
    }

    /** True when the current model's drift monitor has counted every text it was given (or there is none). */
    public boolean idle() {
        DriftMonitor m = current;
        return m == null || m.idle();
    }

    /** Remembers an answer under its response id, so feedback can refer to it. */
    public void remember(DriftMonitor monitor, String id, String endpoint, List<String> inputs, List<String> predictions) {
        recent.remember(id, new RecentRequests.Answered(monitor.modelId, monitor.generation, endpoint, List.copyOf(inputs),
                predictions == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(predictions))));
    }

    /**
     * {@code POST /v1/feedback}: {@code {"id", "label" | "rating", "index"?}} stored as one JSONL
     * record with the request's text and prediction when the id is remembered, flagged
     * {@code "known": false} (and not for training) when it is not.
     *
     * @throws FeedbackException for a malformed body (400) or when the server keeps no feedback (404)
     * @return the acknowledgement, completed once the record is on disk; it fails with a
     *     FeedbackException (503) when the store cannot be written
     */
    public CompletionStage<ObjectNode> feedback(JsonNode body) throws FeedbackException {
        if (store == null) {
            throw new FeedbackException(404, null, "feedback_disabled", "this server keeps no feedback; start troupe serve"
                    + " with --feedback-dir DIR");
        }
        if (body == null || !body.isObject()) {
            throw invalid(null, "invalid_type", "the body must be a JSON object {\"id\", \"label\" or \"rating\"}");
        }
        JsonNode idNode = body.get("id");
        if (idNode == null || !idNode.isTextual() || idNode.asText().isBlank()) {
            throw invalid("id", idNode == null ? "missing_required_parameter" : "invalid_type",
                    "'id' is required: the id of the response the feedback is about");
        }
        String id = idNode.asText();
        if (id.length() > MAX_ID_LENGTH) {
            throw invalid("id", "invalid_value", "'id' is longer than " + MAX_ID_LENGTH + " characters");
        }
        JsonNode labelNode = body.get("label");
        String label = null;
        if (labelNode != null && !labelNode.isNull()) {
            if (labelNode.isTextual() && !labelNode.asText().isBlank()) {
                label = labelNode.asText().strip();
            } else if (labelNode.isIntegralNumber()) {
                label = labelNode.bigIntegerValue().toString();
            } else {
                throw invalid("label", "invalid_type", "'label' must be a non-empty string or an integer");
            }
        }
        JsonNode ratingNode = body.get("rating");
        if (ratingNode != null && !ratingNode.isNull() && !(ratingNode.isNumber() && Double.isFinite(ratingNode.asDouble()))) {
            throw invalid("rating", "invalid_type", "'rating' must be a number");
        }
        boolean rated = ratingNode != null && !ratingNode.isNull();
        if (label == null && !rated) {
            throw invalid(null, "missing_required_parameter", "give 'label' (the correct answer) or 'rating' (a number)");
        }
        JsonNode indexNode = body.get("index");
        if (indexNode != null && !(indexNode.isIntegralNumber() && indexNode.asInt() >= 0)) {
            throw invalid("index", "invalid_type", "'index' must be an integer >= 0: which input of the request");
        }
        int index = indexNode == null ? 0 : indexNode.asInt();
        RecentRequests.Answered answered = recent.find(id);
        if (answered != null && index >= answered.inputs().size()) {
            throw invalid("index", "invalid_value", "request " + id + " had " + answered.inputs().size() + " input(s); 'index'"
                    + " must be below that");
        }
        boolean known = answered != null;
        String prediction = known && answered.predictions() != null ? answered.predictions().get(index) : null;
        boolean train = known && label != null && answered.endpoint().equals("classify");
        ObjectNode record = json.createObjectNode();
        record.put("time", Instant.now().toString());
        record.put("id", id);
        record.put("index", index);
        record.put("known", known);
        if (known) {
            record.put("model", answered.model());
            record.put("endpoint", answered.endpoint());
            record.put("text", answered.inputs().get(index));
            if (prediction != null) {
                record.put("prediction", prediction);
            }
        }
        if (label != null) {
            record.put("label", label);
        }
        if (rated) {
            record.set("rating", ratingNode);
        }
        record.put("train", train); // read by LabelledReader: rows with "train": false are skipped
        String line = record.toString();
        String kind = label != null ? "label" : "rating";
        String finalLabel = label;
        return CompletableFuture.supplyAsync(() -> {
            try {
                store.append(line);
            } catch (IOException e) {
                metrics.feedbackErrors.inc();
                metrics.feedbackStoreOk.set(0);
                throw new CompletionException(new FeedbackException(503, null, "feedback_store_unavailable",
                        e.getMessage()));
            }
            metrics.feedbackStoreOk.set(1);
            metrics.feedback.labelValues(kind, Boolean.toString(known)).inc();
            if (train && prediction != null) {
                countLabelled(answered, finalLabel, prediction);
            }
            ObjectNode ack = json.createObjectNode().put("object", "feedback").put("id", id).put("known", known)
                    .put("train", train);
            if (!known) {
                ack.put("warning", "unknown request id '" + id + "' (never answered here, or older than the last "
                        + settings.rememberedRequests() + " answers): the feedback is kept, flagged \"known\": false,"
                        + " and not trained on");
            }
            return ack;
        }, io);
    }

    private static FeedbackException invalid(String param, String code, String message) {
        return new FeedbackException(400, param, code, message);
    }

    /** Live accuracy counts feedback on the current model's own answers only. */
    private void countLabelled(RecentRequests.Answered answered, String gold, String predicted) {
        DriftMonitor model = current;
        LiveAccuracy live = accuracy;
        if (model == null || live == null || answered.generation() != model.generation) {
            return;
        }
        live.add(gold, predicted);
        publishAccuracy();
    }

    private void publishAccuracy() {
        LiveAccuracy live = accuracy;
        ClassificationMetrics m = live == null ? null : live.metrics();
        metrics.liveLabelled.set(live == null ? 0 : live.size());
        if (m == null) {
            metrics.liveAccuracy.set(Double.NaN);
            metrics.accuracyAlert.set(0);
            return;
        }
        metrics.liveAccuracy.set(m.accuracy());
        metrics.liveMacro.labelValues("precision").set(m.macroPrecision());
        metrics.liveMacro.labelValues("recall").set(m.macroRecall());
        metrics.liveMacro.labelValues("f1").set(m.macroF1());
        boolean now = settings.accuracyAlert() > 0 && live.size() >= settings.minLabelled()
                && m.accuracy() < settings.accuracyAlert();
        if (now != alert) {
            say.accept(String.format(Locale.ROOT, now
                    ? "accuracy alert: live accuracy %.3f over the last %d labelled answers is under %.2f"
                    : "accuracy recovered: live accuracy %.3f over the last %d labelled answers, threshold %.2f",
                    m.accuracy(), live.size(), settings.accuracyAlert()));
        }
        alert = now;
        metrics.accuracyAlert.set(now ? 1 : 0);
    }

    /** The {@code details} of {@code GET /health}: drift, feedback and accuracy. */
    public ObjectNode health() {
        ObjectNode details = json.createObjectNode();
        DriftMonitor m = current;
        if (m != null) {
            details.set("drift", m.health(json));
        }
        ObjectNode feedback = details.putObject("feedback");
        if (store == null) {
            feedback.put("status", "off");
        } else {
            String error = store.lastError();
            feedback.put("status", error == null ? "ok" : "error");
            feedback.put("file", store.file().toString());
            if (error != null) {
                feedback.put("error", error);
            }
        }
        ObjectNode acc = details.putObject("accuracy");
        LiveAccuracy live = accuracy;
        ClassificationMetrics cm = live == null ? null : live.metrics();
        if (live == null) {
            acc.put("status", "off");
        } else {
            acc.put("status", alert ? "alert" : live.size() < settings.minLabelled() ? "warming_up" : "ok");
            acc.put("threshold", settings.accuracyAlert());
            acc.put("labelled", live.size());
            if (cm != null) {
                acc.put("accuracy", cm.accuracy());
                acc.put("macro_precision", cm.macroPrecision());
                acc.put("macro_recall", cm.macroRecall());
                acc.put("macro_f1", cm.macroF1());
            }
        }
        return details;
    }

    /** Writes {@value #REPORT} into the current model's directory; best effort, one warning if it cannot. */
    private void report() {
        DriftMonitor m = current;
        if (m == null) {
            return;
        }
        ObjectNode o = health();
        o.put("time", Instant.now().toString());
        o.put("model", m.modelId);
        try {
            AtomicFiles.writeString(m.dir().resolve(REPORT), json.writerWithDefaultPrettyPrinter().writeValueAsString(o)
                    + "\n");
        } catch (IOException | RuntimeException e) {
            if (!reportFailed) {
                reportFailed = true;
                log.warn("cannot write {} into {} ({}); the model card will not show live metrics", REPORT, m.dir(),
                        e.getMessage());
            }
        }
    }

    /** Writes the last report and stops; the drift monitors are closed with their models. */
    @Override
    public void close() {
        try {
            io.submit(this::report).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("the last monitoring report was not written", e);
        }
        io.shutdownNow();
        if (store != null) {
            store.close();
        }
    }
}
