package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.troupe.worker.metrics.TroupeMetrics;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Prometheus endpoint: a tiny embedded 2-worker run records into the process's metrics,
 * and a scrape over HTTP shows that run's numbers (compared with its metrics.jsonl and
 * summary.json, and with the library's own snapshot of the registry).
 */
class MetricsEndpointTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    static Path shared;
    private static Path corpus;

    @TempDir
    Path tmp;

    @BeforeAll
    static void writeCorpus() throws Exception {
        corpus = Files.writeString(shared.resolve("corpus.txt"), TEXT);
    }

    @Test
    void aScrapeShowsTheNumbersOfTheRun() throws Exception {
        StringWriter err = new StringWriter();
        try (MetricsEndpoint endpoint = MetricsEndpoint.start(new HostPort("127.0.0.1", 0), null,
                new PrintWriter(err, true))) {
            assertTrue(err.toString().contains(endpoint.url()), err.toString());
            Map<String, Double> before = parse(scrape(endpoint.url(), null).body());

            Path out = tmp.resolve("run");
            int steps = 4;
            trainTiny(corpus, out, steps, "--workers", "2").assertOk();

            HttpResponse<String> response = scrape(endpoint.url(), null);
            assertEquals(200, response.statusCode());
            Map<String, Double> after = parse(response.body());
            List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
            JsonNode last = JSON.readTree(lines.get(lines.size() - 1));
            JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
            assertEquals(steps, last.get("step").asLong());

            assertEquals(steps, after.get("troupe_step"), 0);
            assertEquals(last.get("train_loss").asDouble(), after.get("troupe_train_loss"), 1e-9);
            assertEquals(last.get("val_loss").asDouble(), after.get("troupe_val_loss"), 1e-9);
            assertEquals(last.get("mfu").asDouble(), after.get("troupe_mfu_ratio"), 1e-12);
            assertTrue(after.get("troupe_mfu_ratio") > 0 && after.get("troupe_mfu_ratio") < 1, after.toString());
            assertEquals(last.get("tokens_per_s").asDouble(), after.get("troupe_tokens_per_second"), 1e-6);
            assertEquals(2, after.get("troupe_workers"), 0);
            assertEquals(steps, delta(before, after, "troupe_step_seconds_count"), 0);
            assertEquals(steps, delta(before, after, "troupe_allreduce_seconds_count"), 0);
            // Each of the 2 workers sends half the fp32 gradient twice (reduce-scatter, all-gather).
            long params = summary.get("params").asLong();
            assertEquals(steps * 2.0 * params * Float.BYTES, delta(before, after, "troupe_allreduce_bytes_total"), 0);
            // Checkpoints: at each evaluation (eval_interval=2) after step 0, written by rank 0.
            assertEquals(2, delta(before, after, "troupe_checkpoint_seconds_count"), 0);
            assertTrue(after.get("jvm_buffer_pool_used_bytes{pool=\"direct\"}") > 0, "direct memory gauge");
            assertTrue(after.containsKey("jvm_memory_used_bytes{area=\"heap\"}"), "heap gauge");

            // The endpoint serves what the library writes for the same registry.
            assertEquals(troupeLines(response.body()), troupeLines(libraryText()));
            assertEquals(last.get("train_loss").asDouble(), gauge("troupe_train_loss"), 1e-9);
        }
    }

    @Test
    void aTokenFileMakesScrapesAuthenticate() throws Exception {
        Path file = Files.writeString(tmp.resolve("token"), "s3cret-token-0123456789\n");
        TokenFile token = TokenFile.read(file, "--metrics-token-file");
        try (MetricsEndpoint endpoint = MetricsEndpoint.start(new HostPort("127.0.0.1", 0), token,
                new PrintWriter(new StringWriter()))) {
            assertEquals(401, scrape(endpoint.url(), null).statusCode());
            assertEquals(401, scrape(endpoint.url(), "Bearer wrong-token-0123456789").statusCode());
            HttpResponse<String> ok = scrape(endpoint.url(), "Bearer s3cret-token-0123456789");
            assertEquals(200, ok.statusCode());
            assertTrue(ok.body().contains("troupe_train_loss"), ok.body());
        }
    }

    @Test
    void trainServesTheFlagsEndpointAndSaysWhere() {
        CliRun run = trainTiny(corpus, tmp.resolve("run"), 2, "--metrics-bind", "127.0.0.1:0").assertOk();
        assertTrue(run.err().matches("(?s)troupe: serving metrics at http://127\\.0\\.0\\.1:\\d+/metrics\\R"), run.err());
    }

    @Test
    void aPortInUseIsOneLineAndExit2() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            trainTiny(corpus, tmp.resolve("run"), 2, "--metrics-bind", "127.0.0.1:" + taken.getLocalPort())
                    .assertExit(2).assertOneLineError("--metrics-bind 127.0.0.1:" + taken.getLocalPort());
        }
        assertTrue(Files.notExists(tmp.resolve("run/metrics.jsonl")), "nothing trained");
    }

    @Test
    void badFlagsAreOneLineErrors() {
        trainTiny(corpus, tmp.resolve("a"), 2, "--metrics-bind", "127.0.0.1:http").assertExit(2)
                .assertOneLineError("--metrics-bind");
        trainTiny(corpus, tmp.resolve("b"), 2, "--metrics-token-file", "x").assertExit(2)
                .assertOneLineError("--metrics-token-file applies to --metrics-bind");
        // Reachable from other hosts without a token: refused unless asked for openly, before training starts.
        trainTiny(corpus, tmp.resolve("open"), 2, "--metrics-bind", "0.0.0.0:0").assertExit(2)
                .assertOneLineError("add --metrics-token-file FILE to require a bearer token, or --metrics-open");
        assertFalse(Files.exists(tmp.resolve("open").resolve("summary.json")), "nothing trained");
        trainTiny(corpus, tmp.resolve("open2"), 2, "--metrics-open").assertExit(2)
                .assertOneLineError("--metrics-open applies to --metrics-bind");
        trainTiny(corpus, tmp.resolve("c"), 2, "--metrics-bind", "0", "--metrics-token-file",
                tmp.resolve("missing").toString()).assertOneLineError("--metrics-token-file");
    }

    private static HttpResponse<String> scrape(String url, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).GET();
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    // One sample per line: name{labels} value (comments and blank lines skipped).
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{[^}]*\\})?) (\\S+)$");

    private static Map<String, Double> parse(String text) {
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "not a Prometheus sample line: " + line);
            samples.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        return samples;
    }

    private static double delta(Map<String, Double> before, Map<String, Double> after, String name) {
        assertTrue(after.containsKey(name), name + " missing");
        return after.get(name) - before.getOrDefault(name, 0.0);
    }

    private static List<String> troupeLines(String text) {
        return text.lines().filter(l -> l.contains("troupe_")).toList();
    }

    private static String libraryText() throws Exception {
        MetricSnapshots snapshots = TroupeMetrics.process().registry().scrape(name -> name.startsWith("troupe_"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(bytes, snapshots);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static double gauge(String name) {
        for (MetricSnapshot s : TroupeMetrics.process().registry().scrape()) {
            if (s.getMetadata().getPrometheusName().equals(name)) {
                return ((GaugeSnapshot) s).getDataPoints().get(0).getValue();
            }
        }
        throw new AssertionError(name + " is not registered");
    }
}
