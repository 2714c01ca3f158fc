package io.troupe.ops.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.worker.run.TrainListener.StepStats;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dashboard's token check and the content of its event stream, over real HTTP. */
class DashboardServerTest {
    private static final String TOKEN = "0123456789abcdef0123";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private DashboardState state;
    private DashboardServer server;

    @BeforeEach
    void start() throws Exception {
        state = new DashboardState(tmp.resolve("events.jsonl"), Clock.systemUTC());
        server = DashboardServer.start("127.0.0.1", 0, state, TOKEN, Duration.ofMillis(100));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> get(String pathAndQuery, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + pathAndQuery));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theTimerWheelTicksAQuarterOfTheStreamPeriodBetween10And250Ms() {
        // The commands' one-second stream: 4 wake-ups a second instead of Pekko's 100.
        assertEquals(250, DashboardServer.tickMillis(Duration.ofSeconds(1)));
        assertEquals(250, DashboardServer.tickMillis(Duration.ofSeconds(10)));
        assertEquals(25, DashboardServer.tickMillis(Duration.ofMillis(100)));
        assertEquals(10, DashboardServer.tickMillis(Duration.ofMillis(20)));
    }

    @Test
    void aMissingOrWrongTokenGets401AndTheRightOneThePage() throws Exception {
        assertEquals(401, get("/", null).statusCode());
        assertEquals(401, get("/events", null).statusCode());
        assertEquals(401, get("/", "Bearer " + TOKEN + "x").statusCode());
        assertEquals(401, get("/?token=" + TOKEN.substring(1), null).statusCode());
        assertEquals(401, get("/events?token=wrong", null).statusCode());
        HttpResponse<String> page = get("/?token=" + TOKEN, null);
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("id=\"loss-chart\""), page.body());
        assertTrue(page.body().contains("new EventSource("), "the page streams its state");
        assertEquals(200, get("/", "Bearer " + TOKEN).statusCode());
        assertEquals(404, get("/etc/passwd", "Bearer " + TOKEN).statusCode());
    }

    @Test
    void theStreamSendsStepsEvaluationsCheckpointsAndTheRingsWorkers() throws Exception {
        state.onStart(0, 10, 1000);
        state.onStep(new StepStats(1, 10, 4.5, 1e-3, 1.0, 2000, 50, 0.01, 2, 3, 100));
        state.onStep(new StepStats(2, 10, 4.25, 1e-3, 1.0, 2100, 48, 0.02, 2, 3, 100));
        state.onEval(2, 4.2, 4.4);
        Files.writeString(tmp.resolve("events.jsonl"), String.join("\n",
                "{\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"join\",\"worker\":\"w0\",\"host\":\"10.0.0.1\"}",
                "{\"time\":\"2026-01-01T00:00:01Z\",\"event\":\"join\",\"worker\":\"w1\",\"host\":\"10.0.0.2\"}",
                "{\"time\":\"2026-01-01T00:00:02Z\",\"event\":\"ring\",\"generation\":1,\"step\":0,\"workers\":"
                        + "[{\"rank\":0,\"worker\":\"w0\",\"host\":\"10.0.0.1\"},{\"rank\":1,\"worker\":\"w1\",\"host\":\"10.0.0.2\"}]}",
                "{\"time\":\"2026-01-01T00:00:03Z\",\"event\":\"checkpoint\",\"step\":2,\"file\":\"ckpt-2\"}",
                "{\"time\":\"2026-01-01T00:00:04Z\",\"event\":\"failure\",\"worker\":\"w1\",\"reason\":\"node lost\"}",
                "{\"time\":\"2026-01-01T00:00:05Z\",\"event\":\"join\",\"worker\":\"w2\",\"hos")); // a line still being written

        List<JsonNode> events = readEvents("Bearer " + TOKEN, 2);
        JsonNode last = events.get(0);
        assertTrue(last.get("full").asBoolean(), "a stream starts with the whole state");
        JsonNode delta = events.get(1);
        assertFalse(delta.get("full").asBoolean());
        assertEquals(0, delta.get("steps").size(), "nothing new: " + delta);
        assertFalse(delta.has("checkpoints") || delta.has("workers"), "unchanged parts are not resent: " + delta);
        assertEquals(2, delta.get("step").asLong());
        assertEquals(2, last.get("step").asLong());
        assertEquals(10, last.get("lastStep").asLong());
        assertEquals(List.of(1.0, 4.5, 2000.0, 0.01), numbers(last.get("steps").get(0)));
        assertEquals(List.of(2.0, 4.2, 4.4), numbers(last.get("evals").get(0)));
        assertEquals(2, last.get("checkpoints").get(0).get("step").asLong());
        JsonNode workers = last.get("workers");
        assertEquals(2, workers.size(), "the unfinished join line is not read yet: " + workers);
        assertEquals("active", workers.get(0).get("state").asText());
        assertEquals(0, workers.get(0).get("rank").asInt());
        assertEquals("10.0.0.1", workers.get(0).get("host").asText());
        assertEquals(48.0, workers.get(0).get("stepMs").asDouble());
        assertEquals("failed", workers.get(1).get("state").asText());
        assertEquals("2026-01-01T00:00:04Z", workers.get(1).get("since").asText());
        assertEquals("node lost", workers.get(1).get("reason").asText());
    }

    @Test
    void closingSendsTheStepsOfTheLastPeriodAndAnEndEventThenEndsTheStream() throws Exception {
        // A period far longer than the test: only closing can bring the last steps to the client.
        DashboardServer slow = DashboardServer.start("127.0.0.1", 0, state, null, Duration.ofHours(1));
        state.onStart(0, 10, 1000);
        state.onStep(new StepStats(1, 10, 4.5, 1e-3, 1.0, 2000, 50, 0.01, 1, 0, 0));
        HttpResponse<Stream<String>> response = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + slow.port() + "/events")).build(), HttpResponse.BodyHandlers.ofLines());
        Iterator<String> lines = response.body().iterator();
        assertEquals(1, nextData(lines).get("steps").size(), "the whole state on connecting");
        state.onStep(new StepStats(2, 10, 4.25, 1e-3, 1.0, 2000, 50, 0.01, 1, 0, 0));
        state.onStep(new StepStats(3, 10, 4.0, 1e-3, 1.0, 2000, 50, 0.01, 1, 0, 0));
        Thread closing = new Thread(slow::close);
        closing.start();

        JsonNode last = nextData(lines);
        assertEquals(List.of(2.0, 3.0), List.of(last.get("steps").get(0).get(0).asDouble(),
                last.get("steps").get(1).get(0).asDouble()), "the final message: " + last);
        List<String> rest = new ArrayList<>();
        lines.forEachRemaining(rest::add);
        assertEquals(List.of("", "event: end", "data: the server has stopped", ""), rest, "an end event, then the stream ends");
        closing.join(60_000);
        assertFalse(closing.isAlive());
    }

    /** The next {@code data:} line's JSON, skipping the blank lines between events. */
    private static JsonNode nextData(Iterator<String> lines) throws Exception {
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.startsWith("data: ")) {
                return JSON.readTree(line.substring("data: ".length()));
            }
        }
        throw new AssertionError("the stream ended before a data line");
    }

    @Test
    void aFailedStepMarksTheWorkerAtItsRankFailed() throws Exception {
        Files.writeString(tmp.resolve("events.jsonl"), String.join("\n",
                "{\"time\":\"t0\",\"event\":\"join\",\"worker\":\"w0\",\"host\":\"h0\"}",
                "{\"time\":\"t0\",\"event\":\"join\",\"worker\":\"w1\",\"host\":\"h1\"}",
                "{\"time\":\"t1\",\"event\":\"ring\",\"generation\":1,\"step\":0,\"workers\":"
                        + "[{\"rank\":0,\"worker\":\"w1\",\"host\":\"h1\"},{\"rank\":1,\"worker\":\"w0\",\"host\":\"h0\"}]}",
                "{\"time\":\"t2\",\"event\":\"failure\",\"worker\":null,\"reason\":\"rank 1 failed step 7: boom\",\"ranks\":[1]}",
                "{\"time\":\"t3\",\"event\":\"ring\",\"generation\":2,\"step\":6,\"workers\":"
                        + "[{\"rank\":0,\"worker\":\"w1\",\"host\":\"h1\"}]}",
                ""));
        JsonNode workers = JSON.readTree(state.json()).get("workers");
        assertEquals("failed", workers.get(0).get("state").asText(), "w0 was rank 1: " + workers);
        assertEquals("t2", workers.get(0).get("since").asText());
        assertEquals("active", workers.get(1).get("state").asText());
        assertEquals(0, workers.get(1).get("rank").asInt());
    }

    @Test
    void afterTheWholeStateEachMessageCarriesOnlyWhatChanged() throws Exception {
        Files.writeString(tmp.resolve("events.jsonl"),
                "{\"time\":\"t0\",\"event\":\"join\",\"worker\":\"w0\",\"host\":\"h0\"}\n");
        state.onStart(0, 10_000, 1000);
        for (int step = 1; step <= 3; step++) {
            state.onStep(new StepStats(step, 10_000, 4.0, 1e-3, 1.0, 2000, 50, 0.01, 1, 0, 0));
        }
        DashboardState.Cursor cursor = new DashboardState.Cursor();
        JsonNode first = JSON.readTree(state.next(cursor));
        assertTrue(first.get("full").asBoolean());
        assertEquals(3, first.get("steps").size());
        assertEquals(1, first.get("workers").size());

        state.onStep(new StepStats(4, 10_000, 3.5, 1e-3, 1.0, 2000, 40, 0.01, 1, 0, 0));
        state.onCheckpoint(4, tmp.resolve("ckpt-4"), 0.5);
        JsonNode delta = JSON.readTree(state.next(cursor));
        assertFalse(delta.get("full").asBoolean());
        assertEquals(List.of(4.0, 3.5, 2000.0, 0.01), numbers(delta.get("steps").get(0)));
        assertEquals(1, delta.get("steps").size(), "only the new point: " + delta);
        assertEquals(0, delta.get("evals").size());
        assertEquals(1, delta.get("checkpoints").size());
        assertEquals(40.0, delta.get("stepMs").asDouble());
        assertFalse(delta.has("workers"), "the table did not change: " + delta);

        Files.writeString(tmp.resolve("events.jsonl"), "{\"time\":\"t1\",\"event\":\"leave\",\"worker\":\"w0\"}\n",
                java.nio.file.StandardOpenOption.APPEND);
        JsonNode changed = JSON.readTree(state.next(cursor));
        assertEquals("left", changed.get("workers").get(0).get("state").asText());
        assertFalse(changed.has("checkpoints"), "a checkpoint is sent once: " + changed);

        // Filling the series makes it halve: the client's copy is stale and gets the series again.
        for (int step = 5; step <= DashboardState.MAX_POINTS + 10; step++) {
            state.onStep(new StepStats(step, 10_000, 3.0, 1e-3, 1.0, 2000, 40, 0.01, 1, 0, 0));
        }
        JsonNode reset = JSON.readTree(state.next(cursor));
        assertTrue(reset.get("stepsReset").asBoolean(), "halved since: " + reset.get("stepsReset"));
        assertTrue(reset.get("steps").size() > DashboardState.MAX_POINTS / 2, "the whole series");
        assertEquals(1.0, reset.get("steps").get(0).get(0).asDouble(), "from the start");
        JsonNode quiet = JSON.readTree(state.next(cursor));
        assertFalse(quiet.has("stepsReset"));
        assertEquals(0, quiet.get("steps").size());

        JsonNode other = JSON.readTree(state.next(new DashboardState.Cursor()));
        assertTrue(other.get("full").asBoolean(), "a new stream (a reconnect) starts whole");
        assertEquals(reset.get("steps").size(), other.get("steps").size());
        assertEquals(1, other.get("checkpoints").size());
    }

    @Test
    void seriesStayBoundedAndCoverTheWholeRun() {
        DashboardState.Downsampled series = new DashboardState.Downsampled(100);
        for (long step = 1; step <= 100_000; step++) {
            series.add(step, new double[] {step});
        }
        assertTrue(series.size() <= 100 && series.size() >= 50, "size " + series.size());
        com.fasterxml.jackson.databind.node.ArrayNode out = JSON.createArrayNode();
        series.writeTo(out);
        assertTrue(out.get(0).get(0).asLong() < 2000, "keeps the start: " + out.get(0));
        assertTrue(out.get(out.size() - 1).get(0).asLong() > 98_000, "keeps the end: " + out.get(out.size() - 1));
    }

    private List<JsonNode> readEvents(String authorization, int count) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/events"))
                .header("Authorization", authorization).build();
        HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> events = new ArrayList<>();
        try (Stream<String> lines = response.body()) {
            Iterator<String> it = lines.iterator();
            while (events.size() < count && it.hasNext()) {
                String line = it.next();
                if (line.startsWith("data: ")) {
                    events.add(JSON.readTree(line.substring("data: ".length())));
                }
            }
        }
        return events;
    }

    private static List<Double> numbers(JsonNode array) {
        List<Double> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asDouble()));
        return values;
    }
}
