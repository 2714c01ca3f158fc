package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.ops.inference.ExportedEncoder;
import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import io.troupe.worker.run.EncoderExport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code troupe serve} with a BERT-style encoder export: /v1/embeddings answers the vectors
 * {@code troupe embed} computes, as floats or base64, to a raw client and to the official
 * openai-java client; the other endpoints and bad bodies get the OpenAI error object.
 */
class ServeEmbeddingsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final List<String> TEXTS = List.of("the cat sat", "dog");

    @TempDir
    static Path shared;
    private static Path encoder;
    private static float[][] expected;
    private static OpenAiServer server;
    private static String base;

    @BeforeAll
    static void exportAndServe() throws Exception {
        encoder = shared.resolve("enc");
        Files.createDirectories(encoder);
        EncoderConfig cfg = new EncoderConfig(12, 16, 2, 1, 2, 8, 16, 0.0, false, "none", 1e-12, true);
        float[] p = ParameterInit.gpt2(cfg, cfg.layout(), 3);
        Random r = new Random(3);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.3 * r.nextGaussian());
        }
        EncoderExport.write(encoder, cfg, p, "2 3", "mean");
        Files.writeString(encoder.resolve("tokenizer.json"), EncoderCommandsTest.TOKENIZER);
        try (ExportedEncoder direct = ExportedEncoder.open(encoder, 1)) {
            expected = direct.embed(TEXTS);
        }
        server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null);
        server.load(encoder, 1, 2);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void assertError(HttpResponse<String> response, int status, String code) throws Exception {
        assertEquals(status, response.statusCode(), response::body);
        JsonNode error = JSON.readTree(response.body()).get("error");
        assertEquals(code, error.get("code").asText(), response.body());
        assertFalse(response.body().contains("Exception"), response.body());
    }

    @Test
    void embeddingsAreTheEncodersVectorsAsFloatsAndAsBase64() throws Exception {
        HttpResponse<String> response = post("/v1/embeddings", "{\"model\":\"enc\",\"input\":[\"the cat sat\",\"dog\"]}");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode body = JSON.readTree(response.body());
        assertEquals("list", body.get("object").asText());
        assertEquals("enc", body.get("model").asText());
        assertEquals(2, body.get("data").size());
        for (int i = 0; i < TEXTS.size(); i++) {
            JsonNode item = body.get("data").get(i);
            assertEquals("embedding", item.get("object").asText());
            assertEquals(i, item.get("index").asInt());
            assertEquals(expected[i].length, item.get("embedding").size());
            for (int j = 0; j < expected[i].length; j++) {
                assertEquals(expected[i][j], item.get("embedding").get(j).floatValue(), 1e-6, "text " + i + " [" + j + "]");
            }
        }
        // [CLS] the cat sat [SEP] and [CLS] dog [SEP]
        assertEquals(8, body.at("/usage/prompt_tokens").asInt());
        assertEquals(8, body.at("/usage/total_tokens").asInt());

        JsonNode encoded = JSON.readTree(post("/v1/embeddings",
                "{\"input\":\"dog\",\"encoding_format\":\"base64\"}").body());
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(encoded.at("/data/0/embedding").asText()))
                .order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(expected[1].length * Float.BYTES, bytes.remaining());
        for (float v : expected[1]) {
            assertEquals(v, bytes.getFloat(), 1e-6);
        }

        JsonNode model = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).at("/data/0");
        assertEquals("[\"embeddings\"]", model.get("capabilities").toString());
    }

    @Test
    void theOfficialOpenAiClientReadsTheEmbeddings() {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey("unused").maxRetries(0).build();
        try {
            CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder().model("enc")
                    .input("the cat sat").build());
            response.validate();
            List<Float> vector = response.data().get(0).embedding();
            assertEquals(expected[0].length, vector.size());
            for (int j = 0; j < vector.size(); j++) {
                assertEquals(expected[0][j], vector.get(j), 1e-6);
            }
            assertEquals(5, response.usage().promptTokens());
        } finally {
            client.close();
        }
    }

    @Test
    void anEncoderRefusesGenerationAndBadEmbeddingBodiesWith400() throws Exception {
        assertError(post("/v1/completions", "{\"prompt\":\"the\"}"), 400, "unsupported_endpoint");
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 400,
                "unsupported_endpoint");
        assertError(post("/v1/classify", "{\"input\":\"the\"}"), 400, "unsupported_endpoint");
        assertError(post("/v1/explain", "{\"input\":\"the\"}"), 400, "unsupported_endpoint");
        assertError(post("/v1/embeddings", "{}"), 400, "missing_required_parameter");
        assertError(post("/v1/embeddings", "{\"input\":[]}"), 400, "invalid_value");
        assertError(post("/v1/embeddings", "{\"input\":[[5,6]]}"), 400, "invalid_type");
        assertError(post("/v1/embeddings", "{\"input\":\"dog\",\"encoding_format\":\"int8\"}"), 400, "invalid_value");
        assertError(post("/v1/embeddings", "{\"input\":\"dog\",\"dimensions\":3}"), 400, "invalid_value");
        assertError(post("/v1/embeddings", "{\"input\":\"dog\",\"model\":\"other\"}"), 404, "model_not_found");
        assertError(post("/v1/embeddings", "{\"input\":"), 400, "invalid_json");
    }
}
