package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe serve} against a real server on an ephemeral port, with a tiny trained model. */
class ServeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "test-key-1234";

    @TempDir
    static Path shared;
    private static Path run;
    private static OpenAiServer server;
    private static String base;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @TempDir
    Path tmp;

    @BeforeAll
    static void trainAndServe() throws Exception {
        Path corpus = Files.writeString(shared.resolve("corpus.txt"), TEXT);
        run = shared.resolve("run");
        trainTiny(corpus, run, 6, "learning_rate=1e-2").assertOk();
        server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), KEY);
        server.load(run, 1, 4);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static HttpResponse<String> post(String path, String body, String key) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String path, String key) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).GET();
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Asserts an OpenAI error object with {@code status} whose code is {@code code}; returns its message. */
    private static String assertError(HttpResponse<String> response, int status, String code) throws Exception {
        assertEquals(status, response.statusCode(), response::body);
        JsonNode error = JSON.readTree(response.body()).get("error");
        assertNotNull(error, response.body());
        assertEquals(code, error.get("code").asText(), response.body());
        assertTrue(error.has("type") && error.has("param") && error.has("message"), response.body());
        assertFalse(response.body().contains("Exception"), response.body());
        return error.get("message").asText();
    }

    private static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(10);
        }
    }

    /** Greedy continuation from {@code troupe generate}, the uncached one-sequence path. */
    private static String generateGreedy(String prompt, int tokens) {
        String out = troupe("generate", "--model", run, "--threads", 1, "--prompt", prompt, "--tokens", tokens, "--top-k", 1)
                .assertOk().out();
        return out.substring(prompt.length(), prompt.length() + tokens);
    }

    private static String completionBody(String prompt, int maxTokens, double temperature, boolean stream) throws Exception {
        return JSON.writeValueAsString(JSON.createObjectNode().put("model", "run").put("prompt", prompt)
                .put("max_tokens", maxTokens).put("temperature", temperature).put("stream", stream));
    }

    @Test
    void theOfficialOpenAiClientCompletesStreamsAChatAndListsModels() throws Exception {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey(KEY).maxRetries(0).build();
        try {
            Completion completion = client.completions().create(CompletionCreateParams.builder().model("run")
                    .prompt("the king").maxTokens(12).temperature(0).build());
            completion.validate();
            assertEquals(generateGreedy("the king", 12), completion.choices().get(0).text());
            assertEquals("length", completion.choices().get(0).finishReason().asString());
            assertEquals(8, completion.usage().orElseThrow().promptTokens());
            assertEquals(12, completion.usage().orElseThrow().completionTokens());

            StringBuilder streamed = new StringBuilder();
            List<String> finishReasons = new ArrayList<>();
            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                    ChatCompletionCreateParams.builder().model("run").addUserMessage("the queen").maxCompletionTokens(15)
                            .temperature(0).build())) {
                stream.stream().forEach(chunk -> {
                    chunk.validate();
                    chunk.choices().forEach(c -> {
                        c.delta().content().ifPresent(streamed::append);
                        c.finishReason().ifPresent(r -> finishReasons.add(r.asString()));
                    });
                });
            }
            // The plain-text template: the message's content and a newline, then the model continues.
            assertEquals(generateGreedy("the queen\n", 15), streamed.toString());
            assertEquals(List.of("length"), finishReasons);

            List<Model> models = client.models().list().data();
            assertEquals(1, models.size());
            assertEquals("run", models.get(0).id());
        } finally {
            client.close();
        }
        JsonNode listing = JSON.readTree(get("/v1/models", KEY).body());
        assertEquals("plain", listing.at("/data/0/chat_template/name").asText());
        assertEquals(16, listing.at("/data/0/context_length").asInt());
    }

    @Test
    void thirtyTwoConcurrentClientsEachGetACompleteWellFormedAnswer() throws Exception {
        // Prompts of different lengths (some longer than the 16-token context) share batched steps;
        // under greedy decoding each must get exactly what it gets alone.
        List<String> prompts = List.of("a", "the king", "my lord and her love", TEXT.substring(0, 40), "war", "say you");
        List<String> alone = new ArrayList<>();
        for (String p : prompts) {
            alone.add(generateGreedy(p, 20));
        }
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            String prompt = prompts.get(i % prompts.size());
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/completions")).timeout(Duration.ofSeconds(120))
                    .header("Authorization", "Bearer " + KEY)
                    .POST(HttpRequest.BodyPublishers.ofString(completionBody(prompt, 20, 0, i % 2 == 1))).build();
            answers.add(HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < 32; i++) {
            HttpResponse<String> response = answers.get(i).get(120, TimeUnit.SECONDS);
            assertEquals(200, response.statusCode(), response::body);
            String expected = alone.get(i % prompts.size());
            if (i % 2 == 0) {
                JsonNode body = JSON.readTree(response.body());
                assertEquals("text_completion", body.get("object").asText());
                assertEquals(expected, body.at("/choices/0/text").asText(), "client " + i);
                assertEquals("length", body.at("/choices/0/finish_reason").asText());
                assertEquals(20, body.at("/usage/completion_tokens").asInt());
            } else {
                assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
                List<String> events = response.body().lines().filter(l -> !l.isEmpty()).toList();
                assertEquals("data: [DONE]", events.get(events.size() - 1), "client " + i);
                StringBuilder text = new StringBuilder();
                String finish = null;
                for (String event : events.subList(0, events.size() - 1)) {
                    assertTrue(event.startsWith("data: "), event);
                    JsonNode chunk = JSON.readTree(event.substring(6)).at("/choices/0");
                    text.append(chunk.get("text").asText());
                    if (!chunk.get("finish_reason").isNull()) {
                        finish = chunk.get("finish_reason").asText();
                    }
                }
                assertEquals(expected, text.toString(), "client " + i);
                assertEquals("length", finish);
            }
        }
        eventually(() -> server.heldSlots() == 0, "every slot returns once the answers are out");
        // 32 connections at once did not grow pekko's dispatcher past one thread per CPU (its
        // default, at least 8 threads stealing work from each other, cost a core's worth of
        // scanning at 16 streams on two cores).
        long dispatcherThreads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("troupe-serve-pekko.actor.default-dispatcher-")).count();
        assertTrue(dispatcherThreads <= Runtime.getRuntime().availableProcessors(),
                dispatcherThreads + " dispatcher threads on " + Runtime.getRuntime().availableProcessors() + " CPUs");
    }

    @Test
    void aBodySentWithItsHeadOrInChunksLaterIsReadTheSame() throws Exception {
        // A body in the head's segment reaches the server whole (pekko's strict entity, parsed at
        // once); a chunked body arrives as a stream and is gathered first. Both must answer alike.
        String body = completionBody("the", 6, 0, false);
        String head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY
                + "\r\nContent-Type: application/json\r\nConnection: close\r\n";
        String whole = rawExchange(head + "Content-Length: " + body.length() + "\r\n\r\n" + body, null);
        int half = body.length() / 2;
        String chunked = rawExchange(head + "Transfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(half) + "\r\n" + body.substring(0, half) + "\r\n",
                Integer.toHexString(body.length() - half) + "\r\n" + body.substring(half) + "\r\n0\r\n\r\n");
        assertTrue(whole.startsWith("HTTP/1.1 200"), whole);
        assertTrue(chunked.startsWith("HTTP/1.1 200"), chunked);
        String text = JSON.readTree(whole.substring(whole.indexOf("\r\n\r\n") + 4)).at("/choices/0/text").asText();
        assertEquals(6, text.length(), whole);
        assertEquals(text, JSON.readTree(chunked.substring(chunked.indexOf("\r\n\r\n") + 4)).at("/choices/0/text").asText());

        String broken = "{\"prompt\": \"the";
        String wholeBroken = rawExchange(head + "Content-Length: " + broken.length() + "\r\n\r\n" + broken, null);
        String chunkedBroken = rawExchange(head + "Transfer-Encoding: chunked\r\n\r\n", Integer.toHexString(broken.length())
                + "\r\n" + broken + "\r\n0\r\n\r\n");
        for (String answer : List.of(wholeBroken, chunkedBroken)) {
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("\"invalid_json\""), answer);
        }
    }

    /**
     * Sends {@code first}, then (after a pause, as a second segment) {@code second} if not null, on
     * a fresh connection that the server closes after answering; returns the whole response.
     */
    private static String rawExchange(String first, String second) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(60_000);
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            out.write(first.getBytes(StandardCharsets.UTF_8));
            out.flush();
            if (second != null) {
                Thread.sleep(50);
                out.write(second.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void requestsOnOneConnectionStartNoThreadsInTheServer() throws Exception {
        // Regression: a callback on a stage pekko returned (a Scala future) ran on the JDK's default
        // executor, which on machines of two cores or fewer (CI's) starts a thread per call: one or
        // two new threads per request. Only the server runs in this JVM between the two counts (the
        // JDK client below reuses its own threads after the warm-up request).
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        HttpClient client = HttpClient.newBuilder().executor(Runnable::run).build();
        HttpRequest stream = HttpRequest.newBuilder(URI.create(base + "/v1/completions")).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString(completionBody("the king", 4, 0, true))).build();
        assertEquals(200, client.send(stream, HttpResponse.BodyHandlers.ofString()).statusCode());
        long before = threads.getTotalStartedThreadCount();
        int requests = 20;
        for (int i = 0; i < requests; i++) {
            HttpResponse<String> answer = client.send(stream, HttpResponse.BodyHandlers.ofString());
            assertEquals(200, answer.statusCode(), answer::body);
            assertTrue(answer.body().endsWith("data: [DONE]\n\n"), answer::body);
        }
        long started = threads.getTotalStartedThreadCount() - before;
        assertTrue(started < requests / 2, started + " threads started for " + requests + " requests");
    }

    /** A copy of the run's export without decoder.onnx: what a model exported before the KV cache looks like. */
    private Path uncachedCopy() throws Exception {
        Path old = Files.createDirectory(tmp.resolve("run"));
        for (String name : List.of("model.onnx", "tokenizer.json")) {
            Files.copy(run.resolve(name), old.resolve(name));
        }
        return old;
    }

    @Test
    void theCachedServerAnswersWhatUncachedGreedyGenerationGivesAtEveryPromptLength() throws Exception {
        assertTrue(server.cached(), "the run has decoder.onnx, so the server decodes with its KV cache");
        Path old = uncachedCopy();
        // Shorter than, equal to and longer than the 16-token block; 30 tokens slide the window too.
        for (String prompt : List.of("the", TEXT.substring(0, 16), TEXT.substring(0, 37))) {
            CliRun generated = troupe("generate", "--model", old, "--threads", 1, "--prompt", prompt, "--tokens", 30,
                    "--temperature", 0).assertOk();
            assertTrue(generated.err().contains("re-export"), generated::toString); // the uncached path ran
            String expected = generated.out().substring(prompt.length(), prompt.length() + 30);
            HttpResponse<String> answer = post("/v1/completions", completionBody(prompt, 30, 0, false), KEY);
            assertEquals(200, answer.statusCode(), answer.body());
            assertEquals(expected, JSON.readTree(answer.body()).at("/choices/0/text").asText(), "prompt '" + prompt + "'");
        }
    }

    @Test
    void aModelWithoutTheCacheGraphIsServedUncachedAfterOneLineSayingHowToReExport() throws Exception {
        Path old = uncachedCopy();
        List<String> warnings = new ArrayList<>();
        try (OpenAiServer uncached = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null)) {
            uncached.load(old, 1, 3, 1 << 20, warnings::add);
            assertFalse(uncached.cached());
            assertEquals(3, uncached.batchCapacity());
            assertEquals(1, warnings.size(), warnings::toString);
            assertTrue(warnings.get(0).contains("troupe export --run RUN --out " + old + " --force"), warnings::toString);
        }
        // The cached decoder's capacity is --max-batch, lowered to the caches the budget holds:
        // the tiny model's cache is 1 layer x 2 x 16 positions x 16 floats = 2 KiB.
        try (OpenAiServer small = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null)) {
            small.load(run, 1, 8, 3 * io.troupe.ops.inference.KvCacheDecoder.bytesPerSlot(1, 16, 16), warnings::add);
            assertTrue(small.cached());
            assertEquals(3, small.batchCapacity());
            assertEquals(1, warnings.size(), "no warning for a model with decoder.onnx and decoder_step.onnx");
        }
        // An export from before the step graph decodes with decoder.onnx alone, after one line.
        Path withoutStep = Files.createDirectory(tmp.resolve("without-step"));
        for (String name : List.of("decoder.onnx", "model.onnx", "tokenizer.json")) {
            Files.copy(run.resolve(name), withoutStep.resolve(name));
        }
        try (OpenAiServer older = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null)) {
            older.load(withoutStep, 1, 2, 1 << 20, warnings::add);
            assertTrue(older.cached());
            assertEquals(2, warnings.size(), warnings::toString);
            assertTrue(warnings.get(1).contains("decoder_step.onnx does not exist")
                    && warnings.get(1).contains("troupe export --run RUN --out " + withoutStep + " --force"), warnings::toString);
        }
    }

    @Test
    void sampledChoicesFollowTheirSeedAndStopStringsEndThem() throws Exception {
        String body = "{\"prompt\":\"the \",\"max_tokens\":30,\"n\":3,\"seed\":11,\"temperature\":1.0,\"stop\":[\".\"]}";
        HttpResponse<String> first = post("/v1/completions", body, KEY);
        assertEquals(200, first.statusCode(), first.body());
        JsonNode answer = JSON.readTree(first.body());
        assertEquals(3, answer.get("choices").size());
        for (JsonNode choice : answer.get("choices")) {
            assertFalse(choice.get("text").asText().contains("."), first.body());
            String reason = choice.get("finish_reason").asText();
            assertTrue(reason.equals("stop") || choice.get("text").asText().length() == 30, first.body());
        }
        JsonNode again = JSON.readTree(post("/v1/completions", body, KEY).body());
        assertEquals(answer.get("choices"), again.get("choices"), "the same seed gives the same choices");
    }

    @Test
    void badRequestsGetOpenAiErrorsAndTheServerKeepsServing() throws Exception {
        assertError(post("/v1/completions", completionBody("the", 5, 0, false), null), 401, "invalid_api_key");
        assertError(post("/v1/completions", completionBody("the", 5, 0, false), "wrong-key"), 401, "invalid_api_key");
        assertError(get("/v1/models", null), 401, "invalid_api_key");
        assertEquals(200, get("/health", null).statusCode(), "health needs no key");

        assertError(post("/v1/completions", "{\"prompt\": \"the", KEY), 400, "invalid_json");
        assertError(post("/v1/completions", "[1, 2]", KEY), 400, "invalid_json");
        assertError(post("/v1/chat/completions", "{\"messages\": \"hi\"}", KEY), 400, "invalid_type");
        assertError(post("/v1/completions", "{\"prompt\":\"the\",\"max_tokens\":\"ten\"}", KEY), 400, "invalid_type");
        assertError(post("/v1/completions", "{\"prompt\":\"the\",\"temperature\":7}", KEY), 400, "invalid_value");
        assertError(post("/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"the\"}", KEY), 404, "model_not_found");
        String bad = assertError(post("/v1/completions", "{\"prompt\":\"Zounds\"}", KEY), 400, "invalid_prompt");
        assertTrue(bad.contains("'Z'"), bad);
        assertError(post("/v1/completions", "{\"prompt\":\"\"}", KEY), 400, "invalid_prompt");
        assertError(post("/v1/completions", "{\"prompt\":\"the\",\"max_tokens\":5000}", KEY), 400, "invalid_value");
        assertError(post("/v1/completions", "{\"prompt\":\"the\",\"n\":9}", KEY), 400, "invalid_value");
        String budget = assertError(post("/v1/completions", "{\"prompt\":\"the\",\"n\":8,\"max_tokens\":1000}", KEY), 400,
                "request_too_large");
        assertTrue(budget.contains("8 × 1000"), budget);
        assertError(post("/v1/completions", "{\"prompt\":\"the\",\"n\":5}", KEY), 400, "invalid_value"); // batch is 4
        assertError(post("/v1/completions", "{\"prompt\":\"" + "a".repeat(5000) + "\"}", KEY), 400, "context_length_exceeded");
        assertError(post("/v1/completions", "{\"prompt\":\"" + "a".repeat(1_100_000) + "\"}", KEY), 413, "request_too_large");
        assertError(post("/v1/classify", "{\"input\":\"the\"}", KEY), 400, "unsupported_endpoint");
        assertError(post("/v1/embeddings", "{\"input\":\"the\"}", KEY), 400, "unsupported_endpoint");
        assertError(post("/v1/nothing", "{}", KEY), 404, "unknown_url");
        assertEquals("run", JSON.readTree(get("/v1/models/run", KEY).body()).get("id").asText());
        assertError(get("/v1/models/gpt-4", KEY), 404, "model_not_found");
        assertError(get("/v1/completions", KEY), 405, "method_not_allowed");

        HttpResponse<String> ok = post("/v1/completions", completionBody("the", 3, 0, false), KEY);
        assertEquals(200, ok.statusCode(), ok.body());
        String metrics = get("/metrics", KEY).body();
        for (String name : List.of("troupe_serve_requests_total", "troupe_serve_generated_tokens_total",
                "troupe_serve_time_to_first_token_seconds", "troupe_serve_batch_size", "troupe_serve_queue_depth")) {
            assertTrue(metrics.contains(name), name + " in\n" + metrics);
        }
        assertTrue(metrics.contains("status=\"401\""), metrics);
    }

    /** Opens a streaming completion on a raw socket and reads until the first text chunk arrives. */
    private static Socket openStream(int port, String body) throws Exception {
        Socket socket = new Socket("127.0.0.1", port);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.write(bytes);
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        String line = in.readLine();
        assertTrue(line.contains("200"), line);
        while ((line = in.readLine()) != null && !line.contains("data: ")) {
            // headers and chunk sizes
        }
        assertNotNull(line, "the stream ended before its first chunk");
        return socket;
    }

    @Test
    void aClientThatDisconnectsMidStreamCancelsItsGenerationAndTheQueueOverflowsWith429() throws Exception {
        ServeLimits limits = new ServeLimits(1 << 20, 4096, 1_000_000, 8, 1_000_000, 1);
        try (OpenAiServer small = OpenAiServer.bind("127.0.0.1", 0, limits, KEY)) {
            small.load(run, 1, 1);
            String endless = "{\"prompt\":\"the\",\"max_tokens\":1000000,\"stream\":true}";
            Socket first = openStream(small.port(), endless);
            assertEquals(1, small.heldSlots());

            // The one slot is held: the next request waits, the one after is refused.
            String base0 = base;
            base = "http://127.0.0.1:" + small.port();
            try {
                CompletableFuture<HttpResponse<String>> waiting = HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base
                        + "/v1/completions")).header("Authorization", "Bearer " + KEY)
                        .POST(HttpRequest.BodyPublishers.ofString(completionBody("war", 4, 0, false))).build(),
                        HttpResponse.BodyHandlers.ofString());
                eventually(() -> {
                    try {
                        return get("/metrics", KEY).body().contains("troupe_serve_queue_depth 1");
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }, "the second request waits in the queue");
                String busy = assertError(post("/v1/completions", completionBody("war", 4, 0, false), KEY), 429,
                        "rate_limit_exceeded");
                assertTrue(busy.contains("retry later"), busy);

                first.close(); // the client goes away mid-stream
                HttpResponse<String> served = waiting.get(60, TimeUnit.SECONDS);
                assertEquals(200, served.statusCode(), served.body());
                eventually(() -> small.heldSlots() == 0 && small.runningSequences() == 0,
                        "the disconnected stream's slot comes back");
            } finally {
                base = base0;
            }
        }
    }

    @Test
    void aClientThatDisconnectsBeforeAWholeAnswerCancelsItsGeneration() throws Exception {
        ServeLimits limits = new ServeLimits(1 << 20, 4096, 1_000_000, 8, 1_000_000, 4);
        try (OpenAiServer small = OpenAiServer.bind("127.0.0.1", 0, limits, KEY)) {
            small.load(run, 1, 2);
            byte[] body = "{\"prompt\":\"the\",\"max_tokens\":1000000}".getBytes(StandardCharsets.UTF_8);
            Socket client = new Socket("127.0.0.1", small.port());
            OutputStream out = client.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.write(body);
            out.flush();
            eventually(() -> small.heldSlots() == 1, "the million-token answer is being generated");
            client.close(); // the client gives up long before its answer is complete
            eventually(() -> small.heldSlots() == 0 && small.runningSequences() == 0,
                    "the abandoned generation is cancelled and its slot comes back");
            String base0 = base;
            base = "http://127.0.0.1:" + small.port();
            try {
                HttpResponse<String> next = post("/v1/completions", completionBody("war", 4, 0, false), KEY);
                assertEquals(200, next.statusCode(), next.body());
            } finally {
                base = base0;
            }
        }
    }

    /** Copies an export's files into {@code to}, model.onnx last and dated {@code mtime}, as a finishing run writes them. */
    private static void copyExport(Path from, Path to, long mtime) throws Exception {
        for (String name : List.of("tokenizer.json", "decoder.onnx", "model.onnx")) {
            Path staged = to.resolve(name + ".tmp");
            Files.copy(from.resolve(name), staged, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.move(staged, to.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        Files.setLastModifiedTime(to.resolve("model.onnx"), java.nio.file.attribute.FileTime.fromMillis(mtime));
    }

    /** Reads server-sent events until their text has {@code n} characters more than {@code text}. */
    private static String readText(BufferedReader in, StringBuilder text, int n) throws Exception {
        int target = text.length() + n;
        String line;
        while (text.length() < target && (line = in.readLine()) != null) {
            if (line.startsWith("data: {")) {
                text.append(JSON.readTree(line.substring(6)).at("/choices/0/text").asText());
            }
        }
        return text.toString();
    }

    /** A seeded, sampled completion (the same for the same weights, different for different ones). */
    private static String sampled(String prompt, int tokens) throws Exception {
        HttpResponse<String> r = post("/v1/completions", JSON.writeValueAsString(JSON.createObjectNode().put("prompt", prompt)
                .put("max_tokens", tokens).put("temperature", 1.0).put("seed", 3)), KEY);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body()).at("/choices/0/text").asText();
    }

    @Test
    void watchSwapsToANewerModelAndTheRequestInFlightFinishesOnTheOldOne() throws Exception {
        Path other = tmp.resolve("other");
        trainTiny(shared.resolve("corpus.txt"), other, 3, "learning_rate=3e-3", "seed=7").assertOk();
        ServeLimits limits = new ServeLimits(1 << 20, 4096, 1_000_000, 8, 1_000_000, 4);
        String base0 = base;
        String otherShort;
        String otherLong;
        try (OpenAiServer reference = OpenAiServer.bind("127.0.0.1", 0, limits, KEY)) {
            reference.load(other, 1, 1);
            base = "http://127.0.0.1:" + reference.port();
            otherShort = sampled("my lord", 20);
            otherLong = sampled("the", 60);
        } finally {
            base = base0;
        }

        Path watched = Files.createDirectory(tmp.resolve("watched"));
        long now = System.currentTimeMillis();
        copyExport(run, watched, now - 60_000);
        List<String> said = new ArrayList<>();
        try (OpenAiServer watching = OpenAiServer.bind("127.0.0.1", 0, limits, KEY);
             RunWatcher watcher = new RunWatcher(watched, dir -> watching.swap(dir, "watched", 1, 2, 1 << 20, said::add),
                     said::add)) {
            assertTrue(watcher.check(), said::toString);
            assertFalse(watcher.check(), "nothing newer yet");
            base = "http://127.0.0.1:" + watching.port();
            try (Socket client = new Socket("127.0.0.1", watching.port())) {
                String runShort = sampled("my lord", 20);
                String runLong = sampled("the", 60);
                assertFalse(runShort.equals(otherShort) || runLong.equals(otherLong),
                        "the two models must answer differently for the swap to show");
                // A request in flight on the first model: an endless stream with the same seed.
                byte[] body = "{\"prompt\":\"the\",\"max_tokens\":1000000,\"temperature\":1.0,\"seed\":3,\"stream\":true}"
                        .getBytes(StandardCharsets.UTF_8);
                OutputStream out = client.getOutputStream();
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.UTF_8));
                out.write(body);
                out.flush();
                BufferedReader in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
                StringBuilder streamed = new StringBuilder();
                readText(in, streamed, 5);

                copyExport(other, watched, now); // the run exports a newer model
                assertTrue(watcher.check(), said::toString);
                assertEquals(1, watching.retiredModels(), "the first model stays open for the stream it is running");
                assertEquals(otherShort, sampled("my lord", 20), "new requests go to the new model");

                // The stream went on, on the first model, as if nothing had happened.
                assertEquals(runLong, readText(in, streamed, 60).substring(0, 60));
                assertEquals(1, watching.retiredModels());

                // A broken export is reported and skipped; the model served stays.
                Files.writeString(watched.resolve("model.onnx"), "not a model");
                Files.setLastModifiedTime(watched.resolve("model.onnx"), java.nio.file.attribute.FileTime.fromMillis(now + 60_000));
                assertFalse(watcher.check());
                assertTrue(said.get(said.size() - 1).contains("cannot serve"), said::toString);
                assertEquals(otherShort, sampled("my lord", 20));
            } finally {
                base = base0;
            }
            // The stream's client went away: the first model's last request ended, and it closes.
            eventually(() -> watching.retiredModels() == 0, "the swapped-out model closes after its last request");
        }
    }

    @Test
    void healthIs503UntilTheModelIsLoaded() throws Exception {
        try (OpenAiServer loading = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null)) {
            String at = "http://127.0.0.1:" + loading.port();
            HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create(at + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, health.statusCode(), health.body());
            HttpResponse<String> early = HTTP.send(HttpRequest.newBuilder(URI.create(at + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"the\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertError(early, 503, "model_loading");
            loading.load(run, 1, 1);
            assertEquals(200, HTTP.send(HttpRequest.newBuilder(URI.create(at + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            HttpResponse<String> answered = HTTP.send(HttpRequest.newBuilder(URI.create(at + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"the\",\"max_tokens\":2}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, answered.statusCode(), "without --api-key-file no key is needed: " + answered.body());
        }
    }

    @Test
    void benchServeReportsOneClientAndManyClients() throws Exception {
        CliRun bench = troupe("bench", "serve", "--model", run, "--clients", 3, "--requests", 2, "--tokens", 5, "--threads", 1,
                "--warmup-seconds", 0.2, "--json").assertOk();
        List<String> lines = bench.out().lines().toList();
        assertEquals(2, lines.size(), bench::toString);
        JsonNode one = JSON.readTree(lines.get(0));
        JsonNode many = JSON.readTree(lines.get(1));
        assertEquals(1, one.get("clients").asInt());
        assertEquals(10, one.get("tokens").asInt(), "2 requests x 5 tokens");
        assertEquals(3, many.get("clients").asInt());
        assertEquals(30, many.get("tokens").asInt(), "3 clients x 2 requests x 5 tokens");
        assertTrue(many.get("ttftP99Ms").asDouble() >= many.get("ttftP50Ms").asDouble());
        // Chunks that pile up go out in one write (and one client read), so on this tiny model most
        // gaps can round to 0 µs: a p50 of 0 is an honest value (it failed CI once as "> 0").
        assertTrue(many.get("interTokenP99Ms").asDouble() >= many.get("interTokenP50Ms").asDouble());
        assertTrue(many.get("interTokenP50Ms").asDouble() >= 0);
        // Each request ends after its first token, so the medians keep that order.
        assertTrue(many.get("latencyP50Ms").asDouble() >= many.get("ttftP50Ms").asDouble()
                && many.get("ttftP50Ms").asDouble() > 0, many::toString);

        // As text, each level also says how full its decode steps ran: one client's 2 requests of 5
        // tokens take 4 steps each (the prefill makes the first token) of one sequence.
        CliRun text = troupe("bench", "serve", "--model", run, "--clients", 3, "--requests", 2, "--tokens", 5, "--threads", 1,
                "--warmup-seconds", 0).assertOk();
        List<String> batches = text.out().lines().filter(l -> l.contains("mean batch")).toList();
        assertEquals(2, batches.size(), text::toString);
        assertTrue(batches.get(0).contains("mean batch 1.0 over 8 decode steps"), batches.get(0));
        java.util.regex.Matcher many3 = java.util.regex.Pattern.compile("mean batch ([0-9.]+) over (\\d+) decode steps")
                .matcher(batches.get(1));
        assertTrue(many3.find(), batches.get(1));
        double mean = Double.parseDouble(many3.group(1));
        int steps = Integer.parseInt(many3.group(2));
        assertTrue(mean >= 1 && mean <= 3, batches.get(1));
        assertEquals(24, mean * steps, 0.05 * steps, "3 clients x 2 requests x 4 decode steps: " + batches.get(1));
    }

    // ---- startup errors: one line, non-zero exit ----

    @Test
    void aDashboardPortInUseIsOneLineAndExit2() throws Exception {
        try (ServerSocket busy = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            troupe("serve", "--model", run, "--bind", "127.0.0.1:0", "--dashboard", busy.getLocalPort())
                    .assertOneLineError("--dashboard 127.0.0.1:" + busy.getLocalPort() + ": cannot listen there")
                    .assertExit(TroupeCli.EXIT_USAGE);
        }
        troupe("serve", "--model", run, "--bind", "127.0.0.1:0", "--dashboard", "0.0.0.0:0")
                .assertOneLineError("add --dashboard-token-file").assertExit(TroupeCli.EXIT_USAGE);
    }

    @Test
    void startupErrorsAreOneLine() throws Exception {
        troupe("serve", "--model", tmp.resolve("nowhere"), "--bind", "127.0.0.1:0")
                .assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("is not a directory");
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        troupe("serve", "--model", empty, "--bind", "127.0.0.1:0").assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("model.onnx does not exist");
        troupe("serve", "--model", run, "--bind", "127.0.0.1:0", "--api-key-file", tmp.resolve("no-key"))
                .assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("cannot read --api-key-file");
        troupe("serve", "--model", run, "--bind", "0.0.0.0:0").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("give --api-key-file");
        troupe("serve", "--model", run, "--max-batch", 0).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--max-batch must be at least 1");
        troupe("serve", "--bind", "127.0.0.1:0").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("give either --model DIR or --watch RUN_DIR");
        troupe("serve", "--model", run, "--watch", run, "--bind", "127.0.0.1:0").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("give either --model DIR or --watch RUN_DIR");
        troupe("serve", "--watch", tmp.resolve("nowhere"), "--bind", "127.0.0.1:0").assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("--watch " + tmp.resolve("nowhere") + " is not a directory");
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            troupe("serve", "--model", run, "--bind", "127.0.0.1:" + taken.getLocalPort())
                    .assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("cannot listen on 127.0.0.1:" + taken.getLocalPort());
        }
    }
}
