package io.troupe.ops.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqInit;
import io.troupe.ops.explain.TinyExports;
import io.troupe.ops.serve.monitor.MonitorSettings;
import io.troupe.ops.translate.Seq2SeqDecoder;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code POST /v1/translate}: the translations {@link Seq2SeqDecoder} gives, and 400s for bad requests and other models. */
class ServeTranslateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @TempDir
    static Path shared;
    private static Path modelDir;
    private static OpenAiServer server;
    private static OpenAiServer lmServer;

    @BeforeAll
    static void serve() throws Exception {
        CharTokenizer tokenizer = CharTokenizer.fromText("abcdefghij klmnop");
        int v = tokenizer.vocabSize();
        Seq2SeqConfig cfg = new Seq2SeqConfig(v + 3, 8, 12, 1, 1, 2, 16, 32, 0, 0);
        float[] params = Seq2SeqInit.initial(cfg, 3);
        for (int i = 0; i < params.length; i++) {
            params[i] *= 5;
        }
        modelDir = shared.resolve("s2s");
        new Seq2SeqModelDir(cfg, params, tokenizer, v, v + 1, v + 2, "toy").save(modelDir);
        server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null);
        server.load(modelDir, 1, 2);
        lmServer = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null);
        lmServer.load(TinyExports.randomLanguageModel(shared.resolve("lm")), 1, 2);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        lmServer.close();
    }

    private static HttpResponse<String> post(OpenAiServer s, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertError(HttpResponse<String> response, int status, String code) throws Exception {
        assertEquals(status, response.statusCode(), response::body);
        assertEquals(code, JSON.readTree(response.body()).get("error").get("code").asText(), response.body());
        assertFalse(response.body().contains("Exception"), response.body());
    }

    @Test
    void translationsAreTheDecodersBeamOutput() throws Exception {
        HttpResponse<String> r = post(server, "/v1/translate", "{\"input\":[\"abc\",\"de fg\"],\"beam\":2}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode data = JSON.readTree(r.body()).get("data");
        assertEquals(2, data.size());
        try (Seq2SeqDecoder decoder = new Seq2SeqDecoder(Seq2SeqModelDir.load(modelDir), 1)) {
            assertEquals(decoder.beam("abc", 2, 1.0), data.get(0).get("translation").asText());
            assertEquals(decoder.beam("de fg", 2, 1.0), data.get(1).get("translation").asText());
        }
        HttpResponse<String> one = post(server, "/v1/translate", "{\"input\":\"abc\"}");
        assertEquals(200, one.statusCode(), one.body());
        HttpResponse<String> models = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/v1/models")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals("translate", JSON.readTree(models.body()).get("data").get(0).get("capabilities").get(0).asText());
    }

    @Test
    void badRequestsAndOtherModelsAre400s() throws Exception {
        assertError(post(server, "/v1/translate", "{\"input\":\"abcdefghij\"}"), 400, "input_too_long");
        assertError(post(server, "/v1/translate", "{\"input\":\"abc\",\"beam\":0}"), 400, "invalid_value");
        assertError(post(server, "/v1/translate", "{\"input\":\"abc\",\"beam\":9}"), 400, "invalid_value");
        assertError(post(server, "/v1/translate", "{\"input\":\"abc\",\"length_penalty\":-1}"), 400, "invalid_value");
        assertError(post(server, "/v1/translate", "{\"input\":42}"), 400, "invalid_type");
        assertError(post(server, "/v1/translate", "{\"input\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}"),
                400, "too_many_inputs");
        assertError(post(server, "/v1/translate", "{\"input\":\"abc\",\"model\":\"other\"}"), 404, "model_not_found");
        assertError(post(server, "/v1/completions", "{\"prompt\":\"abc\"}"), 400, "unsupported_endpoint");
        assertError(post(lmServer, "/v1/translate", "{\"input\":\"abc\"}"), 400, "unsupported_endpoint");
    }

    @Test
    void translatedSourcesCountTowardTheDriftWindowAndRefusedOnesDoNot() throws Exception {
        Path examples = shared.resolve("sources.txt");
        Files.writeString(examples, "abc\nde fg\nhij\nklm nop\n");
        try (OpenAiServer watched = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null,
                MonitorSettings.defaults().withReferenceData(examples), line -> { })) {
            watched.load(modelDir, 1, 2);
            // Refused first: the monitor counts in order, so a wrongly counted refusal would show as a third text.
            assertError(post(watched, "/v1/translate", "{\"input\":\"abcdefghij\"}"), 400, "input_too_long");
            assertEquals(200, post(watched, "/v1/translate", "{\"input\":[\"abc\",\"de fg\"]}").statusCode());
            JsonNode drift = null;
            for (long end = System.nanoTime() + 60_000_000_000L; System.nanoTime() < end; Thread.sleep(100)) {
                drift = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + watched.port()
                        + "/health")).GET().build(), HttpResponse.BodyHandlers.ofString()).body()).at("/details/drift");
                if (drift.path("texts_counted").asLong() >= 2 && drift.has("perplexity")) {
                    break;
                }
            }
            assertEquals(2, drift.path("texts_counted").asLong(), drift::toString);
            assertTrue(drift.path("perplexity").asText().startsWith("not available"), drift::toString);
        }
    }
}
