package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.TINY;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.ops.inference.ExportedClassifier;
import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe serve} with a fine-tuned classifier: /v1/classify answers, the completion endpoints refuse. */
class ServeClassifyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @TempDir
    static Path shared;
    private static Path classifier;
    private static OpenAiServer server;
    private static String base;

    @BeforeAll
    static void fineTuneAndServe() throws Exception {
        Path corpus = Files.writeString(shared.resolve("corpus.txt"), TEXT);
        Path pretrained = shared.resolve("pretrained");
        trainTiny(corpus, pretrained, 2).assertOk();
        StringBuilder rows = new StringBuilder("text\tlabel\n");
        String[] words = {"the king", "my lord", "the queen", "thee"};
        for (int i = 0; i < 24; i++) {
            rows.append(words[i % words.length]).append(i % 2 == 0 ? " love" : " war").append('\t')
                    .append(i % 2 == 0 ? "pos" : "neg").append('\n');
        }
        Path labelled = Files.writeString(shared.resolve("labelled.tsv"), rows);
        classifier = shared.resolve("clf");
        troupe("finetune", "--from", pretrained, "--task", "classify", "--data", labelled, "--out", classifier, "--steps", 3,
                "--threads", 1, TINY).assertOk();
        server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null);
        server.load(classifier, 1, 2);
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
    void classifyAnswersEachInputWithTheModelsLabelAndProbabilities() throws Exception {
        List<String> texts = List.of("the king love", "my lord war", "thee");
        float[][] expected;
        try (ExportedClassifier direct = ExportedClassifier.open(classifier, 1)) {
            expected = direct.probabilities(texts);
        }
        HttpResponse<String> response = post("/v1/classify",
                "{\"model\":\"clf\",\"input\":[\"the king love\",\"my lord war\",\"thee\"]}");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode body = JSON.readTree(response.body());
        assertEquals("list", body.get("object").asText());
        assertEquals("clf", body.get("model").asText());
        assertEquals(3, body.get("data").size());
        int tokens = 0;
        for (int i = 0; i < texts.size(); i++) {
            JsonNode item = body.get("data").get(i);
            assertEquals(i, item.get("index").asInt());
            JsonNode p = item.get("probabilities");
            assertEquals(expected[i][0], p.get("neg").floatValue(), 1e-6, response.body()); // labels.json sorts: neg, pos
            assertEquals(expected[i][1], p.get("pos").floatValue(), 1e-6, response.body());
            assertEquals(expected[i][0] >= expected[i][1] ? "neg" : "pos", item.get("label").asText());
            tokens += texts.get(i).length(); // a character model: one token per character
        }
        assertEquals(tokens, body.at("/usage/prompt_tokens").asInt());

        JsonNode single = JSON.readTree(post("/v1/classify", "{\"input\":\"thee\"}").body());
        assertEquals(1, single.get("data").size());
        assertEquals(body.at("/data/2/probabilities"), single.at("/data/0/probabilities"));

        JsonNode model = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).at("/data/0");
        assertEquals("[\"classify\"]", model.get("capabilities").toString());
        assertEquals("[\"neg\",\"pos\"]", model.get("labels").toString());
    }

    @Test
    void aClassifierRefusesGenerationAndBadClassifyBodiesWith400() throws Exception {
        assertError(post("/v1/completions", "{\"prompt\":\"the\"}"), 400, "unsupported_endpoint");
        assertError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 400,
                "unsupported_endpoint");
        assertError(post("/v1/embeddings", "{\"input\":\"the\"}"), 400, "unsupported_endpoint");
        assertError(post("/v1/classify", "{}"), 400, "missing_required_parameter");
        assertError(post("/v1/classify", "{\"input\":[1,2]}"), 400, "invalid_type");
        assertError(post("/v1/classify", "{\"input\":[]}"), 400, "invalid_value");
        assertError(post("/v1/classify", "{\"input\":\"the\",\"model\":\"gpt-4\"}"), 404, "model_not_found");
        assertError(post("/v1/classify", "{\"input\": "), 400, "invalid_json");
        assertEquals(200, post("/v1/classify", "{\"input\":\"the king\"}").statusCode(), "the server keeps serving");
    }
}
