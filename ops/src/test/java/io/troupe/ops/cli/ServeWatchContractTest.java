package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve --watch} refuses a newer model that loads but would change what clients rely on:
 * here the same weights with a tokenizer of the same size that maps text to other tokens. The
 * old model keeps answering, and the refusal is one line naming the reason.
 */
class ServeWatchContractTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @TempDir
    Path tmp;

    @Test
    void aNewerModelWithAnotherTokenizerIsRefusedAndTheOldOneKeepsServing() throws Exception {
        Path run = tmp.resolve("run");
        trainTiny(Files.writeString(tmp.resolve("corpus.txt"), TEXT), run, 2).assertOk();
        // The same model with a tokenizer of as many characters, other ones: it loads, but "the" means other tokens.
        Path relabelled = Files.createDirectory(tmp.resolve("relabelled"));
        int size = Tokenizer.load(run).vocabSize();
        StringBuilder other = new StringBuilder();
        for (int c = 0x100; other.codePointCount(0, other.length()) < size; c++) {
            other.appendCodePoint(c);
        }
        assertEquals(size, CharTokenizer.fromText(other.toString()).vocabSize());
        copyExport(run, relabelled, System.currentTimeMillis());
        Files.writeString(relabelled.resolve("tokenizer.json"), CharTokenizer.fromText(other.toString()).toJson() + "\n");

        Path watched = Files.createDirectory(tmp.resolve("watched"));
        long now = System.currentTimeMillis();
        copyExport(run, watched, now - 60_000);
        List<String> said = new ArrayList<>();
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null);
             RunWatcher watcher = new RunWatcher(watched, dir -> server.swap(dir, "watched", 1, 2, 1 << 20, said::add),
                     said::add)) {
            assertTrue(watcher.check(), said::toString);
            String base = "http://127.0.0.1:" + server.port();
            String before = greedy(base);

            copyExport(relabelled, watched, now);
            assertFalse(watcher.check(), "the swap is refused: " + said);
            String line = said.get(said.size() - 1);
            assertTrue(line.contains("refusing to swap") && line.contains("tokenizer") && line.contains("still serving"), line);
            assertFalse(line.contains("Exception"), line);
            assertEquals(0, server.retiredModels(), "the served model was not swapped out");
            assertEquals(before, greedy(base), "the old model answers as before");
        }
    }

    private static String greedy(String base) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"the\",\"max_tokens\":12,\"temperature\":0}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body()).at("/choices/0/text").asText();
    }

    private static void copyExport(Path from, Path to, long mtime) throws Exception {
        for (String name : List.of("tokenizer.json", "decoder.onnx", "model.onnx")) {
            Path staged = to.resolve(name + ".tmp");
            Files.copy(from.resolve(name), staged, StandardCopyOption.REPLACE_EXISTING);
            Files.move(staged, to.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.setLastModifiedTime(to.resolve("model.onnx"), FileTime.fromMillis(mtime));
    }
}
