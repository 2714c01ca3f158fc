package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.WordPieceTrainer;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import io.troupe.ops.serve.monitor.MonitorSettings;
import io.troupe.ops.serve.monitor.ReferenceProfile;
import io.troupe.worker.run.EncoderExport;
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
import java.util.Locale;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 20's drift window for {@code POST /v1/embeddings}: an encoder from {@code troupe train
 * --arch bert} on tinyshakespeare gets a reference profile (token and length histograms, MLM
 * pseudo-perplexity) at the end of training; held-out lines sent for embedding stay under the
 * threshold, while French, random bytes and Java code sent the same way are flagged with token
 * PSIs at least ten times higher. An encoder without a profile says so in /health until
 * {@code --reference-data} gives one; a sentence encoder without an MLM head says it has no
 * perplexity, in /health and /metrics, instead of reporting one.
 */
class ServeEmbeddingsDriftTest {
    private static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");
    private static final Path FRENCH = Path.of("../../shared/data/parallel-eng-fra/fra.part1.txt");
    private static final Path JAVA = Path.of("src/main/java/io/troupe/ops/serve/OpenAiServer.java");
    private static final int WINDOW = 200;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @TempDir
    static Path shared;
    private static Path run;

    @TempDir
    Path tmp;

    @BeforeAll
    static void trainAnEncoder() throws Exception {
        String text = Files.readString(SHAKESPEARE);
        PieceCounts words = PieceCounts.bertWords();
        words.add(text.substring(0, text.length() / 2));
        Path tokDir = shared.resolve("tok");
        Files.createDirectories(tokDir);
        Path tokenizer = WordPieceTrainer.train(words, 400).save(tokDir);
        run = shared.resolve("bert");
        troupe("train", "--arch", "bert", "--preset", "bert-tiny", "--data", SHAKESPEARE, "--tokenizer", tokenizer,
                "--out", run, "--steps", 4, "--threads", 1, "n_layer=1", "n_embd=16", "block_size=32", "batch_size=4",
                "eval_iters=1", "eval_interval=4", "log_interval=4").assertOk();
    }

    private static List<String> valLines() throws Exception {
        List<String> lines = Files.readAllLines(SHAKESPEARE);
        List<String> held = new ArrayList<>();
        for (String line : lines.subList((int) (lines.size() * 0.92), lines.size())) { // inside the 10% val split
            if (!line.isBlank()) {
                held.add(line);
            }
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < WINDOW; i++) { // across the split: 200 lines in a row are one scene
            out.add(held.get(i * held.size() / WINDOW));
        }
        return out;
    }

    private static List<String> french() throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(FRENCH).subList(20_000, 20_000 + WINDOW)) {
            out.add(line.substring(line.indexOf('\t') + 1));
        }
        return out;
    }

    private static List<String> randomBytes() {
        Random random = new Random(7);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < WINDOW; i++) {
            byte[] bytes = new byte[10 + random.nextInt(60)];
            random.nextBytes(bytes);
            out.add(new String(bytes, StandardCharsets.UTF_8));
        }
        return out;
    }

    private static List<String> javaCode() throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(JAVA)) {
            if (!line.isBlank() && out.size() < WINDOW) {
                out.add(line);
            }
        }
        return out;
    }

    /** Embeds {@code texts} in requests of 50, checking each answer. */
    private static void embed(String base, List<String> texts) throws Exception {
        for (int from = 0; from < texts.size(); from += 50) {
            ObjectNode body = JSON.createObjectNode();
            texts.subList(from, Math.min(texts.size(), from + 50)).forEach(body.putArray("input")::add);
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/embeddings"))
                    .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r::body);
        }
    }

    private static String get(String base, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** The drift details of /health once {@code until} holds (the monitor counts on its own thread), or the last ones. */
    private static JsonNode drift(String base, Predicate<JsonNode> until) throws Exception {
        JsonNode drift = null;
        for (long end = System.nanoTime() + 60_000_000_000L; System.nanoTime() < end; Thread.sleep(100)) {
            drift = JSON.readTree(get(base, "/health")).at("/details/drift");
            if (until.test(drift)) {
                return drift;
            }
        }
        return drift;
    }

    /** The drift details once {@code texts} texts are counted and the status of that window is published (every 200 ms). */
    private static JsonNode settled(String base, long texts) throws Exception {
        drift(base, d -> d.path("texts_counted").asLong() == texts && d.path("psi").path("tokens").isNumber());
        Thread.sleep(600);
        return drift(base, d -> true);
    }

    @Test
    void embeddedTextsFeedTheDriftWindowAndOutOfDistributionTextIsFlaggedTenTimesHigher() throws Exception {
        assertTrue(Files.isRegularFile(run.resolve(ReferenceProfile.FILE_NAME)), "train --arch bert stores the profile");
        ReferenceProfile profile = ReferenceProfile.read(run);
        assertEquals("pseudo", profile.perplexityKind());
        assertTrue(profile.perplexity() > 1 && Double.isFinite(profile.perplexity()), () -> "pseudo-ppl " + profile);
        List<String> said = new ArrayList<>();
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null,
                MonitorSettings.defaults().withWindow(WINDOW, 50, 0.25), said::add)) {
            server.load(run, 1, 2);
            String base = "http://127.0.0.1:" + server.port();
            embed(base, valLines());
            JsonNode in = settled(base, WINDOW);
            assertEquals(WINDOW, in.path("texts_counted").asLong(), () -> "embedded texts reach the window: " + in);
            assertEquals(WINDOW, in.path("window_texts").asLong(), in::toString);
            assertEquals("ok", in.path("status").asText(), () -> in + "\n" + said);
            assertEquals("pseudo", in.path("perplexity").asText(), in::toString);
            assertTrue(in.path("reference_perplexity").isNumber(), in::toString);
            double inPsi = in.at("/psi/tokens").asDouble();
            assertTrue(inPsi < 0.1, in::toString);
            List<String> report = new ArrayList<>();
            long sent = WINDOW;
            for (List<String> out : List.of(french(), randomBytes(), javaCode())) {
                embed(base, out);
                sent += out.size();
                JsonNode d = settled(base, sent);
                assertEquals(sent, d.path("texts_counted").asLong(), d::toString);
                assertEquals("drift", d.path("status").asText(), d::toString);
                double psi = d.at("/psi/tokens").asDouble();
                report.add(String.format(Locale.ROOT, "%.3f/%.3f", psi, d.at("/psi/length").asDouble()));
                assertTrue(psi >= 10 * inPsi, () -> "token PSI " + d + " vs in-distribution " + in);
            }
            System.out.printf(Locale.ROOT, "embeddings PSI tokens/length: val %.4f/%.4f, french/bytes/java %s%n", inPsi,
                    in.at("/psi/length").asDouble(), report);
            assertTrue(said.stream().anyMatch(l -> l.startsWith("drift: ")), said::toString);
            // The MLM pseudo-perplexity of a sample of the embedded texts, in /health and /metrics.
            JsonNode scored = drift(base, d -> d.path("prompt_perplexity").isNumber());
            assertTrue(scored.path("prompt_perplexity").asDouble() > 1, scored::toString);
            String metrics = get(base, "/metrics");
            assertTrue(metrics.contains("troupe_serve_perplexity_kind{kind=\"pseudo\"} 1.0"), metrics);
            assertTrue(metrics.contains("troupe_serve_drift 1.0"), metrics);
        }
    }

    @Test
    void anEncoderWithoutAProfileSaysSoUntilReferenceDataGivesOne() throws Exception {
        Path bare = tmp.resolve("bare"); // the export alone: no summary.json naming its data, no stored profile
        Files.createDirectories(bare);
        Files.copy(run.resolve("model.onnx"), bare.resolve("model.onnx"));
        Files.copy(run.resolve("tokenizer.json"), bare.resolve("tokenizer.json"));
        List<String> said = new ArrayList<>();
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null,
                MonitorSettings.defaults(), said::add)) {
            server.load(bare, 1, 2);
            String base = "http://127.0.0.1:" + server.port();
            embed(base, List.of("the king", "my lord"));
            JsonNode d = drift(base, x -> x.path("status").asText().equals("no_reference"));
            assertEquals("no_reference", d.path("status").asText(), d::toString);
            assertTrue(d.path("reference").asText().contains("--reference-data"), d::toString);
            assertTrue(said.stream().anyMatch(l -> l.startsWith("no reference profile") && l.contains("--reference-data")),
                    said::toString);
        }
        Path examples = tmp.resolve("examples.txt");
        Files.write(examples, valLines());
        said.clear();
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null,
                MonitorSettings.defaults().withWindow(WINDOW, 50, 0.25).withReferenceData(examples), said::add)) {
            server.load(bare, 1, 2);
            String base = "http://127.0.0.1:" + server.port();
            embed(base, valLines());
            JsonNode in = settled(base, WINDOW);
            assertEquals("ok", in.path("status").asText(), () -> in + "\n" + said);
            embed(base, french());
            JsonNode out = settled(base, 2 * WINDOW);
            assertEquals("drift", out.path("status").asText(), out::toString);
            assertTrue(said.stream().anyMatch(l -> l.contains("from --reference-data " + examples)), said::toString);
            assertTrue(Files.notExists(bare.resolve(ReferenceProfile.FILE_NAME)), "a --reference-data profile is not stored");
        }
        // The option's own refusals: one line, exit 2.
        troupe("serve", "--model", bare, "--reference-data", tmp.resolve("missing.txt")).assertOneLineError("is not a file")
                .assertExit(2);
        troupe("serve", "--model", bare, "--reference-data", examples, "--no-monitor")
                .assertOneLineError("--no-monitor").assertExit(2);
    }

    @Test
    void aSentenceEncoderWithoutAnMlmHeadStatesThatItHasNoPerplexity() throws Exception {
        Path dir = tmp.resolve("sentence");
        Files.createDirectories(dir);
        EncoderConfig cfg = new EncoderConfig(12, 16, 2, 1, 2, 8, 16, 0.0, false, "none", 1e-12, false);
        EncoderExport.write(dir, cfg, ParameterInit.gpt2(cfg, cfg.layout(), 3), "2 3", "mean");
        Files.writeString(dir.resolve("tokenizer.json"), EncoderCommandsTest.TOKENIZER);
        Path examples = tmp.resolve("examples.txt");
        Files.writeString(examples, "the cat sat\nthe dog sat\n");
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null,
                MonitorSettings.defaults().withReferenceData(examples), line -> { })) {
            server.load(dir, 1, 2);
            String base = "http://127.0.0.1:" + server.port();
            embed(base, List.of("the cat sat", "dog"));
            JsonNode d = drift(base, x -> x.path("texts_counted").asLong() == 2 && x.has("perplexity"));
            assertEquals(2, d.path("texts_counted").asLong(), d::toString);
            assertTrue(d.path("perplexity").asText().startsWith("not available"), d::toString);
            assertTrue(!d.has("prompt_perplexity") && !d.has("reference_perplexity"), d::toString);
            String metrics = get(base, "/metrics");
            assertTrue(metrics.contains("troupe_serve_perplexity_kind{kind=\"none\"} 1.0"), metrics);
            assertTrue(metrics.contains("troupe_serve_prompt_perplexity NaN"), metrics);
        }
    }
}
