package io.troupe.ops.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.model.gpt.Pooling;
import io.troupe.ops.explain.ExplainMethod;
import io.troupe.ops.explain.ExplainOptions;
import io.troupe.ops.explain.Explainer;
import io.troupe.ops.explain.Explanation;
import io.troupe.ops.explain.TinyExports;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code POST /v1/explain}: the JSON of troupe explain, behind the API key, with clear 4xx answers. */
class ServeExplainTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final String KEY = "explain-test-key";

    @TempDir
    static Path shared;
    private static Path lm;
    private static Path classifier;
    private static OpenAiServer server;
    private static String base;

    @BeforeAll
    static void serve() throws Exception {
        lm = TinyExports.randomLanguageModel(shared.resolve("lm"));
        classifier = TinyExports.randomClassifier(shared.resolve("clf"), Pooling.LAST);
        server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), KEY);
        server.load(lm, 1, 2);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static HttpResponse<String> post(String body, String key) throws Exception {
        return post(server, body, key);
    }

    /** POST /v1/explain to {@code to}. */
    private static HttpResponse<String> post(OpenAiServer to, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + "/v1/explain")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertError(HttpResponse<String> response, int status, String code, String param) throws Exception {
        assertEquals(status, response.statusCode(), response::body);
        JsonNode error = JSON.readTree(response.body()).get("error");
        assertEquals(code, error.get("code").asText(), response.body());
        if (param != null) {
            assertEquals(param, error.get("param").asText(), response.body());
        }
        assertFalse(response.body().contains("Exception"), response.body());
    }

    @Test
    void anExplanationOverHttpIsTheOneTroupeExplainGives() throws Exception {
        HttpResponse<String> r = post("{\"input\":\"bad ca\",\"target\":\"hex\",\"steps\":16}", KEY);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("0", r.headers().firstValue("Troupe-Truncated-Tokens").orElseThrow());
        JsonNode body = JSON.readTree(r.body());
        List<String> names = new ArrayList<>();
        body.fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("tokens", "attributions", "target", "score", "baseline_score", "completeness_error"), names);
        Explanation direct;
        try (Explainer explainer = Explainer.open(lm, 1)) {
            direct = explainer.explain("bad ca", new ExplainOptions(ExplainMethod.INTEGRATED_GRADIENTS, "hex", 16));
        }
        assertEquals("hex", body.get("target").asText());
        assertEquals(direct.tokens().size(), body.get("tokens").size());
        for (int i = 0; i < direct.tokens().size(); i++) {
            assertEquals(direct.tokens().get(i), body.get("tokens").get(i).asText());
            assertEquals(direct.attributions()[i], body.get("attributions").get(i).asDouble(), 1e-9);
        }
        assertEquals(direct.completenessError(), body.get("completeness_error").asDouble(), 1e-9);

        HttpResponse<String> rollout = post("{\"input\":\"abcdefgh abc\",\"method\":\"attention-rollout\"}", KEY);
        assertEquals(200, rollout.statusCode(), rollout.body());
        assertEquals("4", rollout.headers().firstValue("Troupe-Truncated-Tokens").orElseThrow(), "12 tokens, context 8");
        assertTrue(JSON.readTree(rollout.body()).get("baseline_score").isNull());
    }

    /** Texts the served model's drift monitor has counted, from /health (no key needed). */
    private static long textsCounted(OpenAiServer to) throws Exception {
        String health = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        return JSON.readTree(health).at("/details/drift/texts_counted").asLong(-1);
    }

    @Test
    void anExplainedTextCountsTowardTheDriftWindowAndARefusedOneDoesNot() throws Exception {
        // Its own server, so no other test's explanations are counted here.
        try (OpenAiServer one = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), KEY)) {
            one.load(lm, 1, 2);
            assertEquals(0, textsCounted(one));
            assertError(post(one, "{\"input\":\"abc\",\"target\":\"zzz\"}", KEY), 400, "invalid_value", "target");
            assertEquals(200, post(one, "{\"input\":\"bad ca\",\"method\":\"grad-x-input\"}", KEY).statusCode());
            assertEquals(200, post(one, "{\"input\":\"abc\",\"method\":\"grad-x-input\"}", KEY).statusCode());
            long counted = 0;
            for (long end = System.nanoTime() + 30_000_000_000L; System.nanoTime() < end && counted < 2; Thread.sleep(50)) {
                counted = textsCounted(one);
            }
            assertEquals(2, counted, "the two explained texts, not the refused one");
            Thread.sleep(300);
            assertEquals(2, textsCounted(one));
        }
    }

    @Test
    void badRequestsGetOneClearError() throws Exception {
        assertError(post("{\"input\":\"abc\"}", null), 401, "invalid_api_key", null);
        assertError(post("{\"input\":\"\"}", KEY), 400, "invalid_value", "input");
        assertError(post("{\"text\":\"abc\"}", KEY), 400, "missing_required_parameter", "input");
        assertError(post("{\"input\":\"abc\",\"method\":\"shap\"}", KEY), 400, "invalid_value", "method");
        assertError(post("{\"input\":\"abc\",\"steps\":0}", KEY), 400, "invalid_value", "steps");
        assertError(post("{\"input\":\"abc\",\"steps\":\"many\"}", KEY), 400, "invalid_value", "steps");
        assertError(post("{\"input\":\"abc\",\"target\":\"zzz\"}", KEY), 400, "invalid_value", "target");
        assertError(post("{\"input\":\"abc\",\"model\":\"other\"}", KEY), 404, "model_not_found", "model");
        assertError(post("[1]", KEY), 400, "invalid_json", null);
        HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/explain"))
                .header("Authorization", "Bearer " + KEY).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertError(get, 405, "method_not_allowed", null);
    }

    @Test
    void aServedClassifierIsExplainedByItsLabels() throws Exception {
        // Its own server: serve --watch refuses to swap a language model for a classifier (other clients).
        try (OpenAiServer clf = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), KEY)) {
            clf.load(classifier, 1, 2);
            HttpResponse<String> unknown = post(clf, "{\"input\":\"bad cafe\",\"target\":\"maybe\"}", KEY);
            assertError(unknown, 400, "invalid_value", "target");
            assertTrue(unknown.body().contains("[neg, neutral, pos]"), unknown.body());
            HttpResponse<String> ok = post(clf, "{\"input\":\"bad cafe\",\"target\":\"pos\",\"method\":\"grad-x-input\"}", KEY);
            assertEquals(200, ok.statusCode(), ok.body());
            assertEquals("pos", JSON.readTree(ok.body()).get("target").asText());
        }
    }

    @Test
    void aServedEncoderClassifierIsExplainedFromTheMaskBaseline() throws Exception {
        Path encoder = TinyExports.randomEncoderClassifier(shared.resolve("encoder"), Pooling.MEAN);
        try (OpenAiServer enc = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), KEY)) {
            enc.load(encoder, 1, 2);
            HttpResponse<String> r = post(enc, "{\"input\":\"the cat sat\",\"target\":\"yes\",\"steps\":64}", KEY);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals("[\"[CLS]\",\"the\",\"cat\",\"sat\",\"[SEP]\"]", body.get("tokens").toString());
            Explanation direct;
            try (Explainer explainer = Explainer.open(encoder, 1)) {
                direct = explainer.explain("[MASK] [MASK] [MASK]", new ExplainOptions(ExplainMethod.GRAD_X_INPUT, "yes", 1));
            }
            assertEquals(direct.score(), body.get("baseline_score").asDouble(), 1e-4, "f(b) is the masked text's score");
            assertError(post(enc, "{\"input\":\"the cat\",\"target\":\"maybe\"}", KEY), 400, "invalid_value", "target");
        }
    }

    @Test
    void explanationsBeyondTheQueueLimitGet429AndTheServerAnswersAgainOnceTheyDrain() throws Exception {
        // One explanation runs, one waits (--queue-limit 1); the rest of a burst must be refused, not queued.
        try (OpenAiServer small = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults().withQueueLimit(1), null)) {
            small.load(lm, 1, 2);
            URI uri = URI.create("http://127.0.0.1:" + small.port() + "/v1/explain");
            HttpRequest slow = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(120))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"input\":\"bad cafe bad\",\"steps\":1024}")).build();
            List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                burst.add(HTTP.sendAsync(slow, HttpResponse.BodyHandlers.ofString()));
            }
            int ok = 0;
            int refused = 0;
            for (var future : burst) {
                HttpResponse<String> r = future.get(120, java.util.concurrent.TimeUnit.SECONDS);
                if (r.statusCode() == 429) {
                    refused++;
                    assertError(r, 429, "queue_full", null);
                    assertTrue(r.body().contains("retry shortly"), r.body());
                } else {
                    assertEquals(200, r.statusCode(), r.body());
                    ok++;
                }
            }
            assertTrue(ok >= 1 && refused >= 1, ok + " answered, " + refused + " refused");
            String metrics = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.port() + "/metrics"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("{endpoint=\"explain\",status=\"429\"} " + refused + ".0"), metrics);
            HttpResponse<String> after = HTTP.send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"input\":\"bad ca\",\"steps\":4}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, after.statusCode(), "the queue drained: " + after.body());
        }
    }
}
