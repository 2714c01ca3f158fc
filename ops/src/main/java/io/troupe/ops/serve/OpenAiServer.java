package io.troupe.ops.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.troupe.data.DataException;
import io.troupe.ops.inference.BatchScheduler;
import io.troupe.ops.inference.ExportedClassifier;
import io.troupe.ops.inference.FinishReason;
import io.troupe.ops.inference.GenerationRequest;
import io.troupe.ops.inference.KvCacheDecoder;
import io.troupe.ops.inference.QueueFullException;
import io.troupe.ops.serve.monitor.FeedbackException;
import io.troupe.ops.serve.monitor.MonitorSettings;
import io.troupe.ops.serve.monitor.MonitoredModel;
import io.troupe.ops.serve.monitor.ServeMonitor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.headers.CacheControl;
import org.apache.pekko.http.javadsl.model.headers.CacheDirectives;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code troupe serve}'s HTTP side: an OpenAI-compatible API on pekko-http in front of one
 * {@link ServedModel}. Binds first and answers {@code /health} with 503 until {@link #load}
 * finishes, so a port in use fails before the (slow) model load.
 *
 * <p>Every refusal is the OpenAI error object with its status; an unexpected failure is a 500
 * whose message names no internals (the stack trace goes to the log).
 */
public final class OpenAiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OpenAiServer.class);
    private static final ContentType EVENT_STREAM = ContentTypes.parse("text/event-stream");
    private static final ByteString DONE_EVENT = ByteString.fromString("data: [DONE]\n\n");

    /** Most texts one /v1/classify request may send, so one client cannot hold the model for long. */
    static final int MAX_CLASSIFY_INPUTS = 256;
    private final ObjectMapper json = new ObjectMapper();
    private final ActorSystem system;
    private final ServeLimits limits;
    private final byte[] apiKey;
    private final ServeMetrics metrics = new ServeMetrics();
    /** Drift, feedback and live accuracy (ops/serve/monitor); {@link #monitoring} pauses its counting. */
    private final ServeMonitor monitor;
    private volatile boolean monitoring = true;
    /** Runs classification batches, which block in ONNX Runtime, away from pekko's threads. */
    /**
     * Runs a callback on the thread that completes the stage. For stages that pekko returns
     * (Scala futures seen as CompletableFutures), whose plain callbacks run asynchronously on the
     * JDK's default executor: with two cores or fewer that is a new thread per callback.
     */
    static final Executor ON_COMPLETING_THREAD = Runnable::run;

    private final ExecutorService classifyExecutor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "troupe-classify");
        t.setDaemon(true);
        return t;
    });
    /** POST /v1/explain (troupe explain over HTTP). */
    private final ExplainEndpoint explanations;
    /** POST /v1/translate, with a seq2seq model served. */
    private final TranslateEndpoint translations;
    /** POST /v1/embeddings, with an encoder served. */
    private final EmbeddingsEndpoint embeddings;
    private volatile ServedModel served;
    /** Swapped-out models that may still be finishing requests; guards {@link #closed} too. */
    private final List<ServedModel> retired = new ArrayList<>();
    private boolean closed;
    private ServerBinding binding;

    private OpenAiServer(ActorSystem system, ServeLimits limits, byte[] apiKey, MonitorSettings monitorSettings,
            Consumer<String> say) {
        this.system = system;
        this.limits = limits;
        this.apiKey = apiKey;
        this.monitor = new ServeMonitor(monitorSettings, metrics.registry(), json, say);
        this.monitoring = monitorSettings.drift();
        this.explanations = new ExplainEndpoint(this::acquire, json, limits.queueLimit(), this::observe);
        this.translations = new TranslateEndpoint(this::acquire, json, limits, this::observe);
        this.embeddings = new EmbeddingsEndpoint(this::acquire, json, limits.queueLimit(), this::observe);
    }

    /**
     * Starts listening on {@code host:port} (port 0 picks a free one); requests get 503 until {@link #load}.
     *
     * @param apiKey the key clients must send as {@code Authorization: Bearer KEY}, or null for none
     * @throws ServeException when the address cannot be bound
     */
    public static OpenAiServer bind(String host, int port, ServeLimits limits, String apiKey) throws ServeException {
        return bind(host, port, limits, apiKey, MonitorSettings.defaults(), line -> { });
    }

    /**
     * As {@link #bind(String, int, ServeLimits, String)}, watching the served model as
     * {@code monitorSettings} say; the monitor's lines for the operator go to {@code say}.
     */
    public static OpenAiServer bind(String host, int port, ServeLimits limits, String apiKey,
            MonitorSettings monitorSettings, Consumer<String> say) throws ServeException {
        return bind(host, port, limits, apiKey, monitorSettings, say, null);
    }

    /**
     * As {@link #bind(String, int, ServeLimits, String, MonitorSettings, Consumer)}, serving
     * HTTPS with {@code https}'s key (TLS 1.2 or 1.3; clients need no certificate) when it is
     * not null.
     */
    public static OpenAiServer bind(String host, int port, ServeLimits limits, String apiKey,
            MonitorSettings monitorSettings, Consumer<String> say, javax.net.ssl.SSLContext https) throws ServeException {
        Config config = ConfigFactory.parseString(String.join("\n",
                "pekko.actor.provider = local",
                "pekko.loglevel = WARNING",
                "pekko.stdout-loglevel = WARNING",
                "pekko.http.server.server-header = troupe",
                // close() stops the system; pekko must not race it from its own JVM hook.
                "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off",
                // A non-streamed generation answers only when it is complete.
                "pekko.http.server.request-timeout = 600s",
                "pekko.http.server.idle-timeout = 600s",
                "pekko.http.server.parsing.max-content-length = " + limits.maxBodyBytes(),
                // One dispatcher thread per CPU, not pekko's default of at least 8: the batch
                // scheduler keeps a core busy, and on a small machine eight workers that steal
                // from each other for every streamed token spend the other core scanning queues.
                "pekko.actor.default-dispatcher.fork-join-executor.parallelism-min = " + dispatcherThreads(),
                "pekko.actor.default-dispatcher.fork-join-executor.parallelism-max = " + dispatcherThreads(),
                // Each connection's TCP actor on the same threads as its HTTP stream: a streamed
                // chunk's write no longer hops to a second pool (pekko's internal dispatcher).
                "pekko.io.tcp.worker-dispatcher = pekko.actor.default-dispatcher"))
                .withFallback(ConfigFactory.load());
        ActorSystem system = ActorSystem.create("troupe-serve", config);
        OpenAiServer server = new OpenAiServer(system, limits,
                apiKey == null ? null : apiKey.getBytes(StandardCharsets.UTF_8), monitorSettings, say);
        try {
            // One handler flow per connection, so a connection that ends cancels what it waits for.
            org.apache.pekko.http.javadsl.ServerBuilder builder = Http.get(system).newServerAt(host, port);
            if (https != null) {
                builder = builder.enableHttps(HttpsServer.context(https));
            }
            server.binding = builder
                    .bindFlow(Flow.fromMaterializer((materializer, attributes) -> server.connectionFlow()))
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            system.terminate();
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            String why = cause.getCause() != null ? cause.getCause().getMessage() : cause.getMessage();
            throw new ServeException("cannot listen on " + host + ":" + port + " (" + why
                    + "); pick another port with --bind HOST:PORT or stop the process that holds it", cause);
        }
        return server;
    }

    /**
     * Batched decode steps run so far and the sequences they carried, as {steps, sequences}
     * (troupe bench serve: the mean batch of a load level).
     */
    public long[] decodeSteps() {
        return metrics.decodeSteps();
    }

    /** The server's metrics (what /metrics serves), for {@code serve --dashboard} to sample. */
    public io.prometheus.metrics.model.registry.PrometheusRegistry registry() {
        return metrics.registry();
    }

    /** The port listened on (the chosen one when bound to port 0). */
    public int port() {
        return binding.localAddress().getPort();
    }

    /**
     * Opens the export in {@code dir} and starts answering with it.
     *
     * @throws DataException when {@code dir} is not a Troupe export
     */
    public void load(Path dir, int threads, int maxBatch) throws DataException {
        load(dir, threads, maxBatch, KvCacheDecoder.DEFAULT_BUDGET_BYTES, log::warn);
    }

    /**
     * Opens the export in {@code dir} and starts answering with it: with its KV-cache decoder when
     * it has one (up to {@code maxBatch} sequences, fewer when {@code kvBudgetBytes} holds fewer
     * caches), else uncached after a line to {@code warn}.
     *
     * @throws DataException when {@code dir} is not a Troupe export
     * @throws IllegalArgumentException when the KV budget holds no sequence
     */
    public void load(Path dir, int threads, int maxBatch, long kvBudgetBytes, Consumer<String> warn) throws DataException {
        load(dir, threads, maxBatch, kvBudgetBytes, warn, StartupListener.NONE);
    }

    /** As {@link #load(Path, int, int, long, Consumer)}, telling {@code startup} how opening the model goes. */
    public void load(Path dir, int threads, int maxBatch, long kvBudgetBytes, Consumer<String> warn,
            StartupListener startup) throws DataException {
        swap(dir, ServedModel.idOf(dir), threads, maxBatch, kvBudgetBytes, warn, startup);
    }

    /**
     * Opens the export in {@code dir} as model {@code id} and answers new requests with it. The
     * model served until now finishes the requests it has (running or queued) and closes after
     * the last; if {@code dir} cannot be opened, the current model stays. So does it when the new
     * model would change what clients rely on (see {@link ServedModel#contractChange}): another kind
     * of model, another tokenizer or other labels.
     *
     * @throws DataException when {@code dir} is not a Troupe export, or changes the current model's contract
     * @throws IllegalArgumentException when the KV budget holds no sequence
     */
    public void swap(Path dir, String id, int threads, int maxBatch, long kvBudgetBytes, Consumer<String> warn)
            throws DataException {
        swap(dir, id, threads, maxBatch, kvBudgetBytes, warn, StartupListener.NONE);
    }

    private void swap(Path dir, String id, int threads, int maxBatch, long kvBudgetBytes, Consumer<String> warn,
            StartupListener startup) throws DataException {
        ServedModel next = ServedModel.open(dir, id, threads, maxBatch, kvBudgetBytes, limits.queueLimit(), metrics, json,
                warn, startup);
        ServedModel current = served;
        String change = current == null ? null : current.contractChange(next);
        if (change != null) {
            closeQuietly(next);
            throw new DataException("refusing to swap in " + dir + ": " + change
                    + "; clients of '" + current.id + "' rely on it. Serve it with its own troupe serve instead");
        }
        next.monitor = monitor.attach(dir, id, next.isClassifier() ? MonitoredModel.of(next.classifier)
                : next.isEncoder() ? MonitoredModel.of(next.encoder)
                : next.isTranslator() ? MonitoredModel.of(next.translator.model())
                : MonitoredModel.of(next.model));
        ServedModel previous;
        synchronized (retired) {
            if (closed) {
                closeQuietly(next);
                throw new IllegalStateException("the server is closed");
            }
            previous = served;
            explanations.register(next, dir, threads);
            served = next;
            if (previous != null) {
                retired.add(previous);
            }
        }
        if (previous != null) {
            previous.retire();
        }
    }

    /** The model id a directory is served under: its name. */
    public static String modelId(Path dir) {
        return ServedModel.idOf(dir);
    }

    /** Models swapped out whose last requests are still running (closed once they end). */
    public int retiredModels() {
        synchronized (retired) {
            retired.removeIf(ServedModel::retiredAndIdle);
            return retired.size();
        }
    }

    private static void closeQuietly(ServedModel m) {
        try {
            m.close();
        } catch (Exception e) {
            log.warn("closing a model failed", e);
        }
    }

    /** A hold on the served model for one request; 503 while none is loaded. */
    private ServedModel.Lease acquire() throws ApiError {
        while (true) {
            ServedModel.Lease lease = ready().lease();
            if (lease != null) {
                return lease;
            }
            Thread.onSpinWait(); // swapped out between the read and the lease: the next read sees its successor
        }
    }

    /** Counts one text sent to {@code m} toward its drift window, unless monitoring is paused or {@code m} has no monitor. */
    private void observe(ServedModel m, String text) {
        if (monitoring && m.monitor != null) {
            m.monitor.observe(text);
        }
    }

    /** Sequences decoding right now and requests waiting (for tests and the benchmark). */
    public int runningSequences() {
        ServedModel m = served;
        return m == null || m.scheduler == null ? 0 : m.scheduler.running();
    }

    /** Sequences the loaded model decodes together (--max-batch, or fewer when the KV budget holds fewer); 0 before {@link #load}. */
    public int batchCapacity() {
        ServedModel m = served;
        return m == null || m.decoder == null ? 0 : m.decoder.capacity();
    }

    /** True when the loaded model decodes with its KV cache. */
    public boolean cached() {
        ServedModel m = served;
        return m != null && m.decoder instanceof KvCacheDecoder;
    }

    /** Decoder slots held right now: 0 when the server is idle, whatever its clients did. */
    public int heldSlots() {
        ServedModel m = served;
        return m == null || m.decoder == null ? 0 : m.decoder.openSlots();
    }

    /**
     * Turns counting texts toward the drift window on or off while serving (troupe bench serve
     * compares the two in one run); feedback and ids are kept either way.
     */
    public void monitoring(boolean on) {
        monitoring = on;
    }

    /**
     * Waits until the drift monitor has counted every text handed to it, at most {@code timeoutMillis}
     * (troupe bench serve: so the monitor's deferred work for one side of a comparison does not
     * land in the other side's requests); true when it has.
     */
    public boolean awaitMonitorIdle(long timeoutMillis) throws InterruptedException {
        long end = System.nanoTime() + timeoutMillis * 1_000_000;
        while (!monitor.idle()) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(1);
        }
        return true;
    }

    // ---- routing ----

    /**
     * Answers one connection's requests in order; when the connection ends, cancels its unanswered
     * generations. The client closing its side ends the request stream at once, while a pending
     * answer holds the rest of the flow open: so the end is watched before {@code mapAsync} too.
     */
    private Flow<HttpRequest, HttpResponse, NotUsed> connectionFlow() {
        ClientConnection connection = new ClientConnection();
        return Flow.<HttpRequest>create()
                .watchTermination((notUsed, requestsEnded) -> {
                    requestsEnded.whenCompleteAsync((ok, failure) -> connection.close(), ON_COMPLETING_THREAD);
                    return notUsed;
                })
                .mapAsync(1, request -> handle(request, connection))
                .watchTermination((notUsed, done) -> {
                    done.whenCompleteAsync((ok, failure) -> connection.close(), ON_COMPLETING_THREAD);
                    return notUsed;
                });
    }

    private CompletionStage<HttpResponse> handle(HttpRequest request, ClientConnection connection) {
        String path = request.getUri().path();
        String method = request.method().value();
        String endpoint = endpoint(path);
        CompletionStage<HttpResponse> response;
        try {
            response = route(request, method, path, connection);
        } catch (ApiError e) {
            request.discardEntityBytes(system);
            response = CompletableFuture.completedFuture(error(e));
        } catch (RuntimeException e) {
            request.discardEntityBytes(system);
            response = CompletableFuture.completedFuture(internal(e));
        }
        return response.exceptionally(this::failure).thenApply(r -> {
            metrics.request(endpoint, r.status().intValue());
            return r;
        });
    }

    private static String endpoint(String path) {
        return switch (path) {
            case "/v1/completions" -> "completions";
            case "/v1/classify" -> "classify";
            case "/v1/explain" -> "explain";
            case "/v1/translate" -> "translate";
            case "/v1/chat/completions" -> "chat_completions";
            case "/v1/feedback" -> "feedback";
            case "/v1/embeddings" -> "embeddings";
            case "/health", "/metrics" -> path.substring(1);
            default -> path.startsWith("/v1/models") ? "models" : "other";
        };
    }

    private CompletionStage<HttpResponse> route(HttpRequest request, String method, String path, ClientConnection connection)
            throws ApiError {
        if (path.equals("/health")) {
            requireMethod(method, "GET", path);
            request.discardEntityBytes(system);
            boolean ready = served != null;
            ObjectNode body = json.createObjectNode().put("status", ready ? "ok" : "loading");
            if (ready) {
                body.set("details", monitor.health());
            }
            return done(jsonResponse(ready ? 200 : 503, body));
        }
        authorize(request);
        switch (path) {
            case "/metrics" -> {
                requireMethod(method, "GET", path);
                request.discardEntityBytes(system);
                return done(HttpResponse.create().withEntity(ContentTypes.parse(metrics.contentType()), metrics.scrape()));
            }
            case "/v1/models" -> {
                requireMethod(method, "GET", path);
                request.discardEntityBytes(system);
                ObjectNode list = json.createObjectNode().put("object", "list");
                list.putArray("data").add(modelObject(ready()));
                return done(jsonResponse(200, list));
            }
            case "/v1/completions", "/v1/chat/completions" -> {
                requireMethod(method, "POST", path);
                ServedModel m = ready();
                if (m.isClassifier() || m.isEncoder() || m.isTranslator()) {
                    throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is a " + m.kind() + "; it "
                            + "cannot generate text (use " + m.endpoints() + ")");
                }
                boolean chat = path.equals("/v1/chat/completions");
                return readJson(request).thenCompose(body -> generate(body, chat, connection));
            }
            case "/v1/classify" -> {
                requireMethod(method, "POST", path);
                ServedModel m = ready();
                if (!m.isClassifier()) {
                    throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is a " + m.kind()
                            + "; it cannot do classification (use " + m.endpoints() + ")");
                }
                return readJson(request).thenCompose(this::classify);
            }
            case "/v1/feedback" -> {
                requireMethod(method, "POST", path);
                return readJson(request).thenCompose(this::feedback);
            }
            case "/v1/translate" -> {
                requireMethod(method, "POST", path);
                ready();
                return readJson(request).thenCompose(translations::translate);
            }
            case "/v1/explain" -> {
                requireMethod(method, "POST", path);
                ServedModel m = ready();
                if (m.isEncoder() || m.isTranslator()) {
                    throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is a " + m.kind()
                            + "; explanations are for language models and classifiers (use " + m.endpoints() + ")");
                }
                return readJson(request).thenCompose(explanations::explain);
            }
            case "/v1/embeddings" -> {
                requireMethod(method, "POST", path);
                ServedModel m = ready();
                if (!m.isEncoder()) {
                    throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is a " + m.kind()
                            + "; it cannot make embeddings (use " + m.endpoints() + ")");
                }
                return readJson(request).thenCompose(embeddings::embed);
            }
            default -> {
                if (path.startsWith("/v1/models/")) {
                    requireMethod(method, "GET", path);
                    ServedModel m = ready();
                    request.discardEntityBytes(system);
                    checkModel(m, path.substring("/v1/models/".length()));
                    return done(jsonResponse(200, modelObject(m)));
                }
                throw new ApiError(404, "invalid_request_error", null, "unknown_url",
                        "unknown request URL: " + method + " " + path);
            }
        }
    }

    private static void requireMethod(String method, String expected, String path) throws ApiError {
        if (!method.equals(expected)) {
            throw new ApiError(405, "invalid_request_error", null, "method_not_allowed",
                    path + " takes " + expected + ", not " + method);
        }
    }

    /** With an API key, the request must carry it as a bearer token; compared in constant time. */
    private void authorize(HttpRequest request) throws ApiError {
        if (apiKey == null) {
            return;
        }
        Optional<Authorization> header = request.getHeader(Authorization.class);
        String value = header.map(Authorization::value).orElse("");
        byte[] presented = value.startsWith("Bearer ")
                ? value.substring("Bearer ".length()).trim().getBytes(StandardCharsets.UTF_8)
                : new byte[0];
        if (!MessageDigest.isEqual(apiKey, presented)) {
            throw new ApiError(401, "invalid_request_error", null, "invalid_api_key",
                    header.isEmpty() ? "no API key: send the header 'Authorization: Bearer KEY'"
                            : "the API key is not valid");
        }
    }

    private ServedModel ready() throws ApiError {
        ServedModel m = served;
        if (m == null) {
            throw new ApiError(503, "server_error", null, "model_loading", "the model is still loading; retry shortly");
        }
        return m;
    }

    static void checkModel(ServedModel m, String requested) throws ApiError {
        if (requested != null && !requested.equals(m.id)) {
            throw new ApiError(404, "invalid_request_error", "model", "model_not_found",
                    "the model '" + requested + "' does not exist; this server serves '" + m.id + "' (see GET /v1/models)");
        }
    }

    private ObjectNode modelObject(ServedModel m) {
        ObjectNode model = json.createObjectNode();
        model.put("id", m.id);
        model.put("object", "model");
        model.put("created", m.created);
        model.put("owned_by", "troupe");
        if (m.isTranslator()) {
            model.put("context_length", m.translator.model().config().maxSource());
            model.put("tokenizer", m.translator.model().tokenizer().type());
            model.putArray("capabilities").add("translate");
            return model;
        }
        if (m.isClassifier()) {
            model.put("context_length", m.classifier.blockSize());
            model.put("tokenizer", m.classifier.tokenizer().type());
            model.putArray("capabilities").add("classify");
            m.classifier.labels().names().forEach(model.putArray("labels")::add);
            return model;
        }
        if (m.isEncoder()) {
            model.put("tokenizer", m.encoder.tokenizer().type());
            model.putArray("capabilities").add("embeddings");
            return model;
        }
        model.put("context_length", m.model.blockSize());
        model.put("tokenizer", m.model.tokenizer().type());
        model.putArray("capabilities").add("completions").add("chat.completions");
        ObjectNode template = model.putObject("chat_template");
        template.put("name", m.template.name());
        template.put("description", m.template.description());
        template.put("message", m.template.message());
        template.put("generation_prompt", m.template.generationPrompt());
        return model;
    }

    // ---- bodies ----

    private CompletionStage<JsonNode> readJson(HttpRequest request) throws ApiError {
        Optional<Long> declared = request.entity().getContentLengthOption().isPresent()
                ? Optional.of(request.entity().getContentLengthOption().getAsLong()) : Optional.empty();
        if (declared.isPresent() && declared.get() > limits.maxBodyBytes()) {
            throw tooLarge();
        }
        if (request.entity() instanceof HttpEntity.Strict strict) {
            // The body came with the head (a small request usually does): parse it here. toStrict
            // would materialize a stream, with an actor of its own, for every request.
            if (strict.getData().size() > limits.maxBodyBytes()) {
                throw tooLarge();
            }
            try {
                return CompletableFuture.completedFuture(parseJson(strict.getData()));
            } catch (ApiError e) {
                return CompletableFuture.failedFuture(new CompletionException(e));
            }
        }
        // handleAsync on the completing thread: pekko's stage is a Scala future's CompletableFuture,
        // whose handle() runs asynchronously on the default executor, which on a machine of two cores
        // or fewer starts a new thread for every call (CompletableFuture's ThreadPerTaskExecutor).
        return request.entity().toStrict(30_000, limits.maxBodyBytes(), system).handleAsync((strict, failure) -> {
            if (failure != null) {
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
                if (cause.getClass().getSimpleName().contains("EntityStreamSizeException")) {
                    throw new CompletionException(tooLarge());
                }
                throw new CompletionException(ApiError.invalid(null, "unreadable_body",
                        "the request body could not be read: " + cause.getMessage()));
            }
            try {
                return parseJson(strict.getData());
            } catch (ApiError e) {
                throw new CompletionException(e);
            }
        }, ON_COMPLETING_THREAD);
    }

    private JsonNode parseJson(ByteString body) throws ApiError {
        try {
            return json.readTree(body.toArray());
        } catch (JsonProcessingException e) {
            throw ApiError.invalid(null, "invalid_json", "the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw ApiError.invalid(null, "invalid_json", "the request body is not valid JSON");
        }
    }

    private ApiError tooLarge() {
        return new ApiError(413, "invalid_request_error", null, "request_too_large",
                "the request body is larger than this server's limit of " + limits.maxBodyBytes() + " bytes");
    }

    // ---- feedback ----

    /** POST /v1/feedback: see {@link ServeMonitor#feedback}. */
    private CompletionStage<HttpResponse> feedback(JsonNode body) {
        try {
            return monitor.feedback(body).handle((ack, failure) -> {
                if (failure == null) {
                    return jsonResponse(200, ack);
                }
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure;
                return cause instanceof FeedbackException f ? error(feedbackError(f)) : internal(cause);
            });
        } catch (FeedbackException e) {
            return done(error(feedbackError(e)));
        }
    }

    private static ApiError feedbackError(FeedbackException e) {
        String type = e.status() >= 500 ? "server_error" : "invalid_request_error";
        return new ApiError(e.status(), type, e.param(), e.code(), e.getMessage());
    }

    // ---- classification ----

    /** POST /v1/classify: {@code {"model", "input": string | [strings]}} to each input's label and probabilities. */
    private CompletionStage<HttpResponse> classify(JsonNode body) {
        List<String> inputs;
        ServedModel.Lease lease;
        try {
            inputs = TextInputs.parse(body, MAX_CLASSIFY_INPUTS, "classifies").texts();
            lease = acquire();
        } catch (ApiError e) {
            return done(error(e));
        }
        ServedModel m = lease.model();
        try {
            if (!m.isClassifier()) {
                throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is a " + m.kind()
                        + "; it cannot do classification (use " + m.endpoints() + ")");
            }
            checkModel(m, body.path("model").isTextual() ? body.get("model").asText() : null);
        } catch (ApiError e) {
            lease.close();
            return done(error(e));
        }
        // The ORT run blocks: keep it off pekko's dispatcher, one batch at a time per model.
        return CompletableFuture.supplyAsync(() -> {
            try (lease) {
                float[][] probabilities = m.classifier.probabilities(inputs); // [inputs][classes]
                String id = "clf-" + java.util.UUID.randomUUID().toString().replace("-", "");
                int tokens = 0;
                for (int count : m.classifier.tokenCounts(inputs)) {
                    tokens += count;
                }
                ObjectNode answer = json.createObjectNode().put("id", id).put("object", "list");
                var data = answer.putArray("data");
                List<String> labels = m.classifier.labels().names();
                List<String> predicted = new ArrayList<>(inputs.size());
                for (int i = 0; i < inputs.size(); i++) {
                    int best = ExportedClassifier.argmax(probabilities[i]);
                    predicted.add(labels.get(best));
                    if (monitoring) {
                        m.monitor.observe(inputs.get(i));
                        m.monitor.observeConfidence(probabilities[i][best]);
                    }
                    ObjectNode item = data.addObject().put("object", "classification").put("index", i)
                            .put("label", labels.get(best));
                    ObjectNode p = item.putObject("probabilities");
                    for (int k = 0; k < labels.size(); k++) {
                        p.put(labels.get(k), probabilities[i][k]);
                    }
                }
                answer.put("model", m.id);
                monitor.remember(m.monitor, id, "classify", inputs, predicted);
                answer.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
                return jsonResponse(200, answer);
            } catch (Exception e) {
                return internal(e);
            }
        }, classifyExecutor);
    }

    // ---- generation ----

    private CompletionStage<HttpResponse> generate(JsonNode body, boolean chat, ClientConnection connection) {
        ServedModel.Lease lease;
        try {
            lease = acquire();
        } catch (ApiError e) {
            return done(error(e));
        }
        ServedModel m = lease.model();
        try {
            if (m.isClassifier() || m.isEncoder()) {
                throw ApiError.invalid("model", "unsupported_endpoint", "model '" + m.id + "' is a " + m.kind() + "; it "
                        + "cannot generate text (use " + m.endpoints() + ")");
            }
            SamplingRequest r = chat ? SamplingRequest.chat(body, m.template, limits) : SamplingRequest.completion(body, limits);
            checkModel(m, r.model());
            String param = chat ? "messages" : "prompt";
            int[] prompt;
            try {
                prompt = m.model.tokenizer().encode(r.prompt());
            } catch (IllegalArgumentException e) {
                throw ApiError.invalid(param, "invalid_prompt", "the prompt cannot be encoded by the model's tokenizer: "
                        + e.getMessage());
            }
            if (prompt.length == 0) {
                throw ApiError.invalid(param, "invalid_prompt", "the prompt is empty; send at least one character");
            }
            if (prompt.length > limits.maxPromptTokens()) {
                throw ApiError.invalid(param, "context_length_exceeded", "the prompt has " + prompt.length
                        + " tokens; this server takes at most " + limits.maxPromptTokens());
            }
            if (r.n() > m.scheduler.capacity()) {
                throw ApiError.invalid("n", "invalid_value", "'n' = " + r.n() + " exceeds the server's batch of "
                        + m.scheduler.capacity() + " sequences (--max-batch)");
            }
            GenerationRequest g = new GenerationRequest(prompt, r.maxTokens(), r.n(), r.temperature(), r.topP(), r.seed(),
                    r.stop());
            OpenAiResponses shapes = new OpenAiResponses(json, chat, m.id);
            metrics.promptTokens(prompt.length);
            if (monitoring) {
                m.monitor.observe(r.prompt());
            }
            monitor.remember(m.monitor, shapes.id(), chat ? "chat_completions" : "completions", List.of(r.prompt()), null);
            // From a successful submit on, the request's end releases the lease (see submit).
            return r.stream() ? stream(m, lease, g, r.includeUsage(), shapes, chat) : whole(m, lease, g, shapes, connection);
        } catch (ApiError | RuntimeException e) {
            lease.close();
            return e instanceof ApiError api ? done(error(api)) : done(internal(e));
        }
    }

    private CompletionStage<HttpResponse> whole(ServedModel m, ServedModel.Lease lease, GenerationRequest g,
            OpenAiResponses shapes, ClientConnection connection) throws ApiError {
        CompletableFuture<HttpResponse> answer = new CompletableFuture<>();
        BatchScheduler.Generation generation = submit(m, lease, g, new BatchScheduler.Listener() {
            @Override
            public void onFinished(BatchScheduler.Result result) {
                answer.complete(resultResponse(result, shapes));
            }
        });
        // A client that disconnects before the answer is complete cancels the generation.
        connection.waitingFor(generation);
        return answer.whenComplete((response, failure) -> connection.done(generation));
    }

    private HttpResponse resultResponse(BatchScheduler.Result result, OpenAiResponses shapes) {
        if (result.error() != null) {
            return internal(result.error());
        }
        if (result.choices().isEmpty() || result.choices().stream().anyMatch(c -> c.finishReason() == FinishReason.CANCELLED)) {
            return error(new ApiError(503, "server_error", null, "cancelled", "the server is shutting down; retry"));
        }
        return jsonResponse(200, shapes.whole(result));
    }

    /** Server-sent events: one {@code data:} chunk per piece of text, the finish reasons, then {@code [DONE]}. */
    private CompletionStage<HttpResponse> stream(ServedModel m, ServedModel.Lease lease, GenerationRequest g,
            boolean includeUsage,
            OpenAiResponses shapes, boolean chat) throws ApiError {
        // Every chunk fits: one per token, plus roles, finish reasons, usage and [DONE].
        int buffer = g.n() * (g.maxTokens() + 2) + 4;
        AtomicReference<BatchScheduler.Generation> generation = new AtomicReference<>();
        // The client is gone (or stopped reading): stop generating for it.
        ChunkRelay events = new ChunkRelay(buffer, () -> {
            BatchScheduler.Generation running = generation.get();
            if (running != null) {
                running.cancel();
            }
        });
        if (chat) {
            for (int i = 0; i < g.n(); i++) {
                events.offer(event(shapes.chunk(i, "assistant", null, null)));
            }
        }
        BatchScheduler.Listener listener = new BatchScheduler.Listener() {
            @Override
            public void onText(int choice, String text) {
                events.offer(ByteString.fromString(shapes.textEvent(choice, text)));
            }

            @Override
            public void onChoiceFinished(int choice, FinishReason reason) {
                events.offer(event(shapes.chunk(choice, null, null, reason.apiName())));
            }

            @Override
            public void onFinished(BatchScheduler.Result result) {
                if (result.error() != null) {
                    log.warn("generation failed", result.error());
                    events.offer(event(new ApiError(500, "server_error", null, "generation_failed",
                            "generation failed inside the server; see its log").toJson(json)));
                } else if (includeUsage) {
                    events.offer(event(shapes.usageChunk(result.promptTokens(), result.completionTokens())));
                }
                events.offer(DONE_EVENT);
                events.complete();
            }
        };
        try {
            generation.set(submit(m, lease, g, listener));
        } catch (ApiError e) {
            events.complete();
            throw e;
        }
        return done(HttpResponse.create()
                .addHeader(CacheControl.create(CacheDirectives.NO_CACHE))
                // Chunks that pile up while the connection is busy go out together, as one write.
                .withEntity(HttpEntities.createChunked(EVENT_STREAM, events.source().conflate(ByteString::concat))));
    }

    /** Submits to the model's scheduler; once submitted, the request's end closes {@code lease}. */
    private BatchScheduler.Generation submit(ServedModel m, ServedModel.Lease lease, GenerationRequest g,
            BatchScheduler.Listener listener) throws ApiError {
        BatchScheduler.Listener releasing = new BatchScheduler.Listener() {
            @Override
            public void onText(int choice, String text) {
                listener.onText(choice, text);
            }

            @Override
            public void onChoiceFinished(int choice, FinishReason reason) {
                listener.onChoiceFinished(choice, reason);
            }

            @Override
            public void onFinished(BatchScheduler.Result result) {
                try {
                    listener.onFinished(result);
                } finally {
                    lease.close();
                }
            }
        };
        try {
            BatchScheduler.Generation generation = m.scheduler.submit(g, releasing);
            metrics.queueDepth(m.scheduler.queued());
            return generation;
        } catch (QueueFullException e) {
            throw new ApiError(429, "rate_limit_error", null, "rate_limit_exceeded", e.getMessage());
        }
    }

    private ByteString event(ObjectNode node) {
        try {
            return ByteString.fromString("data: " + json.writeValueAsString(node) + "\n\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- responses ----

    private static CompletionStage<HttpResponse> done(HttpResponse response) {
        return CompletableFuture.completedFuture(response);
    }

    private HttpResponse jsonResponse(int status, JsonNode body) {
        try {
            return HttpResponse.create().withStatus(status)
                    .withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private HttpResponse error(ApiError e) {
        return jsonResponse(e.status(), e.toJson(json));
    }

    private HttpResponse failure(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        return cause instanceof ApiError e ? error(e) : internal(cause);
    }

    private HttpResponse internal(Throwable t) {
        log.error("request failed", t);
        return error(new ApiError(500, "server_error", null, "internal_error",
                "the server failed to answer this request; see its log"));
    }

    /** Stops listening, cancels running generations and frees the models (the served one and any swapped out). */
    @Override
    public void close() throws Exception {
        try {
            if (binding != null) {
                binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
            List<ServedModel> models;
            synchronized (retired) {
                closed = true;
                models = new ArrayList<>(retired);
                retired.clear();
                if (served != null) {
                    models.add(served);
                }
                served = null;
            }
            for (ServedModel m : models) {
                m.close();
            }
        } finally {
            monitor.close();
            explanations.close();
            translations.close();
            embeddings.close();
            classifyExecutor.shutdownNow();
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    /** Pekko's dispatcher threads for the server: one per CPU. */
    static int dispatcherThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** Completes when the server's actor system stops. */
    public CompletionStage<?> whenTerminated() {
        return system.getWhenTerminated();
    }
}
