package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import io.troupe.ops.serve.monitor.MonitorSettings;
import io.troupe.ops.serve.monitor.ReferenceProfile;
import io.troupe.ops.serve.monitor.ServeMonitor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 20's feedback loop end to end, on a tiny classifier: served under {@code --watch}, it
 * answers in-distribution texts well; shifted texts (new words, a new rule) with their correct
 * labels sent as feedback pull its live accuracy under the alert threshold; the served classifier,
 * continued on the feedback file ({@code finetune --from} its own run), lands in the watched run directory, the server swaps to it while a client keeps
 * sending (no request fails), and the live accuracy of the new model on shifted texts recovers.
 */
class ServeFeedbackLoopTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    /** A classifier that learns "ends in love / war" and "ends in go / not" in a few seconds. */
    private static final List<String> SETTINGS = List.of("n_layer=1", "n_head=2", "n_embd=32", "block_size=24",
            "batch_size=16", "eval_iters=1", "eval_interval=1000", "log_interval=1000", "warmup_iters=5",
            "lr_decay_iters=150", "learning_rate=3e-3", "min_lr=3e-4");
    private static final String[] ORIGINAL_WORDS = {"the king", "my lord", "the queen", "with her", "shall war", "her love"};
    private static final String[] SHIFTED_WORDS = {"what say you", "shall thee", "and to", "say what", "you and thee"};

    @TempDir
    static Path tmp;
    private static Path pretrained;

    @BeforeAll
    static void pretrain() throws Exception {
        pretrained = tmp.resolve("pretrained");
        trainTiny(Files.writeString(tmp.resolve("corpus.txt"), TEXT), pretrained, 2).assertOk();
    }

    /** "WORDS love" is pos and "WORDS war" neg; shifted: "WORDS go" is pos and "WORDS not" neg. */
    private static List<String[]> examples(boolean shifted, int n, long seed) {
        Random random = new Random(seed);
        String[] words = shifted ? SHIFTED_WORDS : ORIGINAL_WORDS;
        List<String[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean pos = i % 2 == 0;
            String end = shifted ? (pos ? "go" : "not") : (pos ? "love" : "war");
            out.add(new String[] {words[random.nextInt(words.length)] + " " + end, pos ? "pos" : "neg"});
        }
        return out;
    }

    private static HttpResponse<String> post(String base, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode get(String base, String path) throws Exception {
        return JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }

    private static String scrape(String base) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Classifies each text alone, then sends its correct label as feedback; returns the share answered right. */
    private static double classifyWithFeedback(String base, List<String[]> rows) throws Exception {
        int right = 0;
        for (String[] row : rows) {
            HttpResponse<String> answer = post(base, "/v1/classify", JSON.createObjectNode().put("input", row[0]).toString());
            assertEquals(200, answer.statusCode(), answer.body());
            JsonNode body = JSON.readTree(answer.body());
            String id = body.get("id").asText();
            assertTrue(id.startsWith("clf-"), answer.body());
            right += body.at("/data/0/label").asText().equals(row[1]) ? 1 : 0;
            HttpResponse<String> ack = post(base, "/v1/feedback",
                    JSON.createObjectNode().put("id", id).put("label", row[1]).toString());
            assertEquals(200, ack.statusCode(), ack.body());
            assertTrue(JSON.readTree(ack.body()).get("known").asBoolean(), ack.body());
        }
        return (double) right / rows.size();
    }

    private static void finetune(Path data, Path out, String... extra) {
        finetune(pretrained, data, out, extra);
    }

    private static void finetune(Path from, Path data, Path out, String... extra) {
        List<Object> args = new ArrayList<>(List.of("finetune", "--from", from, "--task", "classify", "--data", data,
                "--out", out, "--steps", 150, "--threads", 1, SETTINGS));
        args.addAll(List.of((Object[]) extra));
        troupe(args.toArray()).assertOk();
    }

    private static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(20);
        }
    }

    @Test
    void shiftedInputsDropLiveAccuracyAndAFineTuneOnTheFeedbackServedUnderWatchRecoversIt() throws Exception {
        StringBuilder rows = new StringBuilder();
        for (String[] row : examples(false, 64, 1)) {
            rows.append(row[0]).append('\t').append(row[1]).append('\n');
        }
        Path clf = tmp.resolve("clf");
        finetune(Files.writeString(tmp.resolve("original.tsv"), rows), clf);
        assertTrue(Files.isRegularFile(clf.resolve(ReferenceProfile.FILE_NAME)), "finetune stores the reference profile");

        Path feedbackDir = tmp.resolve("feedback");
        MonitorSettings settings = MonitorSettings.defaults().withFeedback(feedbackDir, 1 << 20, 2)
                .withAccuracy(500, 0.8, 10).withWindow(50, 20, 0.25);
        List<String> said = new CopyOnWriteArrayList<>();
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null, settings, said::add);
             RunWatcher watcher = new RunWatcher(clf, dir -> server.swap(dir, "clf", 1, 2, 1 << 20, said::add), said::add)) {
            assertTrue(watcher.check(), said::toString);
            String base = "http://127.0.0.1:" + server.port();

            double before = classifyWithFeedback(base, examples(false, 20, 2));
            JsonNode accuracy = get(base, "/health").at("/details/accuracy");
            assertEquals(before, accuracy.get("accuracy").asDouble(), 1e-9, accuracy::toString);
            assertTrue(before >= 0.9, "the classifier knows its own task: " + accuracy);
            assertEquals("ok", accuracy.get("status").asText(), accuracy::toString);

            double shifted = classifyWithFeedback(base, examples(true, 40, 3));
            accuracy = get(base, "/health").at("/details/accuracy");
            assertTrue(shifted <= 0.75, "the old model cannot know the new rule: " + shifted);
            assertTrue(accuracy.get("accuracy").asDouble() < 0.8, accuracy::toString);
            assertEquals("alert", accuracy.get("status").asText(), accuracy::toString);
            assertEquals(60, accuracy.get("labelled").asInt());
            assertTrue(said.stream().anyMatch(l -> l.startsWith("accuracy alert: ")), said::toString);
            String metrics = scrape(base);
            assertTrue(metrics.contains("troupe_serve_accuracy_alert 1.0"), metrics);
            assertTrue(metrics.contains("troupe_serve_feedback_total{kind=\"label\",known=\"true\"} 60.0"), metrics);
            assertTrue(metrics.contains("troupe_serve_drift_psi{feature=\"tokens\"}"), metrics);
            // 60 answers, each handing the monitor its text and its confidence: the request path's count.
            assertTrue(metrics.contains("troupe_serve_monitor_request_path_seconds_count 120"), metrics);
            assertTrue(metrics.contains("troupe_serve_monitor_request_path_seconds_sum "), metrics);
            eventually(() -> {
                try {
                    return get(base, "/health").at("/details/drift/window_texts").asInt() == 50;
                } catch (Exception e) {
                    return false;
                }
            }, "every classified text counts toward the drift window (50, its size)");
            eventually(() -> {
                try {
                    return get(base, "/health").at("/details/drift/status").asText().equals("drift");
                } catch (Exception e) {
                    return false;
                }
            }, "the shifted words are drift too");

            // Continue the served classifier on the feedback file as it is, into the watched run directory
            // (the source is read before anything is written), while a client keeps classifying.
            Path feedback = feedbackDir.resolve("feedback.jsonl");
            finetune(clf, feedback, clf, "--force");
            assertTrue(JSON.readTree(clf.resolve("summary.json").toFile()).get("continued_classifier").asBoolean());
            AtomicBoolean stop = new AtomicBoolean();
            List<Integer> statuses = Collections.synchronizedList(new ArrayList<>());
            Thread client = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        statuses.add(post(base, "/v1/classify", "{\"input\":\"what say you go\"}").statusCode());
                    } catch (Exception e) {
                        statuses.add(-1);
                    }
                }
            });
            client.start();
            eventually(() -> statuses.size() >= 3, "the client is running");
            assertTrue(watcher.check(), said::toString);
            int atSwap = statuses.size();
            eventually(() -> statuses.size() >= atSwap + 3, "the client goes on after the swap");
            stop.set(true);
            client.join(30_000);
            assertTrue(statuses.stream().allMatch(s -> s == 200), "no request failed across the swap: " + statuses);
            assertEquals(0, get(base, "/health").at("/details/accuracy/labelled").asInt(), "live accuracy is per model");

            double after = classifyWithFeedback(base, examples(true, 40, 4));
            accuracy = get(base, "/health").at("/details/accuracy");
            assertTrue(after >= 0.9, "the fine-tuned model learnt the new rule from the feedback: " + after);
            assertEquals("ok", accuracy.get("status").asText(), accuracy::toString);
            double original = classifyWithFeedback(base, examples(false, 20, 5));
            assertTrue(original >= 0.9, "continued from the served classifier, it still knows the first rule: " + original);
            System.out.printf("live accuracy: before the shift %.3f, shifted %.3f, after the fine-tune %.3f (original"
                    + " texts %.3f)%n", before, shifted, after, original);
        }
    }

    @Test
    void completionAndChatPromptsCountTowardTheWindowAndTheirIdsTakeFeedback() throws Exception {
        MonitorSettings settings = MonitorSettings.defaults().withFeedback(tmp.resolve("fb-lm"), 1 << 20, 2);
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null, settings, l -> { })) {
            server.load(pretrained, 1, 2);
            String base = "http://127.0.0.1:" + server.port();
            HttpResponse<String> completion = post(base, "/v1/completions", "{\"prompt\":\"the king shall\",\"max_tokens\":2}");
            assertEquals(200, completion.statusCode(), completion.body());
            HttpResponse<String> chat = post(base, "/v1/chat/completions",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"my lord\"}],\"max_tokens\":2}");
            assertEquals(200, chat.statusCode(), chat.body());
            eventually(() -> {
                try {
                    return get(base, "/health").at("/details/drift/window_texts").asInt() == 2;
                } catch (Exception e) {
                    return false;
                }
            }, "both prompts count toward the window");
            JsonNode drift = get(base, "/health").at("/details/drift");
            assertEquals("warming_up", drift.get("status").asText(), drift::toString);
            assertTrue(drift.get("reference_perplexity").asDouble() > 1, "train stored the profile: " + drift);
            eventually(() -> {
                try {
                    return scrape(base).contains("troupe_serve_prompt_perplexity ")
                            && !scrape(base).contains("troupe_serve_prompt_perplexity NaN");
                } catch (Exception e) {
                    return false;
                }
            }, "a prompt was scored under the model");
            String id = JSON.readTree(completion.body()).get("id").asText();
            JsonNode ack = JSON.readTree(post(base, "/v1/feedback", "{\"id\":\"" + id + "\",\"rating\":5}").body());
            assertTrue(ack.get("known").asBoolean(), ack::toString);
            assertFalse(ack.get("train").asBoolean(), "a completion's rating is no classification example: " + ack);
            assertEquals("off", get(base, "/health").at("/details/accuracy/status").asText(), "no live accuracy for an LM");
        }
        // Serve wrote its last numbers beside the model when it stopped; the card shows them.
        assertTrue(Files.isRegularFile(pretrained.resolve(ServeMonitor.REPORT)));
        String card = io.troupe.worker.card.ModelCard.render(pretrained);
        assertTrue(card.contains("## Monitoring"), card);
        assertTrue(card.contains("| drift status | warming_up over 2 texts |"), card);
        assertTrue(card.contains("val perplexity, text by text"), card);
    }

    @Test
    void serveRefusesMonitorOptionsOutOfRangeInOneLine() {
        troupe("serve", "--model", pretrained, "--drift-threshold", "0").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--drift-threshold must be > 0");
        troupe("serve", "--model", pretrained, "--drift-window", "3").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--drift-window must be at least 10");
        troupe("serve", "--model", pretrained, "--accuracy-alert", "1.5").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--accuracy-alert must be in [0, 1]");
    }

    @Test
    void feedbackForUnknownIdsIsKeptButFlaggedBadBodiesAre400AndAnUnwritableStoreLeavesServingUp() throws Exception {
        Path clf = tmp.resolve("clf-small");
        StringBuilder rows = new StringBuilder();
        for (String[] row : examples(false, 16, 5)) {
            rows.append(row[0]).append('\t').append(row[1]).append('\n');
        }
        troupe("finetune", "--from", pretrained, "--task", "classify", "--data", Files.writeString(tmp.resolve("s.tsv"), rows),
                "--out", clf, "--steps", 2, "--threads", 1, SETTINGS).assertOk();
        Path feedbackDir = tmp.resolve("fb-small");
        MonitorSettings settings = MonitorSettings.defaults().withFeedback(feedbackDir, 600, 2);
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null, settings, l -> { })) {
            server.load(clf, 1, 2);
            String base = "http://127.0.0.1:" + server.port();
            JsonNode ack = JSON.readTree(post(base, "/v1/feedback", "{\"id\":\"clf-nope\",\"label\":\"pos\"}").body());
            assertFalse(ack.get("known").asBoolean(), ack::toString);
            assertTrue(ack.get("warning").asText().contains("unknown request id"), ack::toString);
            String id = JSON.readTree(post(base, "/v1/classify", "{\"input\":[\"the king love\",\"my lord war\"]}").body())
                    .get("id").asText();
            eventually(() -> {
                try {
                    return get(base, "/health").at("/details/drift/window_texts").asInt() == 2;
                } catch (Exception e) {
                    return false;
                }
            }, "each text of an \"input\" array counts toward the drift window");
            ack = JSON.readTree(post(base, "/v1/feedback", "{\"id\":\"" + id + "\",\"index\":1,\"rating\":-1}").body());
            assertTrue(ack.get("known").asBoolean() && !ack.get("train").asBoolean(), ack::toString);
            List<String> lines = Files.readAllLines(feedbackDir.resolve("feedback.jsonl"));
            assertEquals(2, lines.size());
            JsonNode unknown = JSON.readTree(lines.get(0));
            assertFalse(unknown.get("known").asBoolean());
            assertFalse(unknown.get("train").asBoolean());
            JsonNode rated = JSON.readTree(lines.get(1));
            assertEquals("my lord war", rated.get("text").asText());
            assertEquals(-1, rated.get("rating").asInt());

            for (String bad : List.of("{}", "{\"id\":\"x\"}", "{\"id\":\"x\",\"label\":[1]}", "{\"id\":7,\"label\":\"pos\"}",
                    "{\"id\":\"" + id + "\",\"index\":5,\"label\":\"pos\"}", "[1]")) {
                HttpResponse<String> refused = post(base, "/v1/feedback", bad);
                assertEquals(400, refused.statusCode(), bad + " -> " + refused.body());
                assertFalse(refused.body().contains("Exception"), refused.body());
            }
            // Rotation: the file stays under 600 bytes, 2 rotated files are kept, the oldest goes.
            for (int i = 0; i < 12; i++) {
                post(base, "/v1/feedback", "{\"id\":\"clf-" + i + "\",\"label\":\"neg\"}");
            }
            assertTrue(Files.size(feedbackDir.resolve("feedback.jsonl")) <= 600);
            assertTrue(Files.isRegularFile(feedbackDir.resolve("feedback.jsonl.2")));
            assertFalse(Files.exists(feedbackDir.resolve("feedback.jsonl.3")));

            // The disk goes away under the store (a directory where the file is): serving goes on, the error shows.
            for (Path p : List.of(feedbackDir.resolve("feedback.jsonl"), feedbackDir.resolve("feedback.jsonl.1"),
                    feedbackDir.resolve("feedback.jsonl.2"))) {
                Files.deleteIfExists(p);
            }
            Files.createDirectory(feedbackDir.resolve("feedback.jsonl"));
            Files.writeString(feedbackDir.resolve("feedback.jsonl").resolve("x"), "keeps the directory from being replaced");
            for (int i = 0; i < 12; i++) { // the open channel rotates into the directory's place and fails
                post(base, "/v1/feedback", "{\"id\":\"clf-more-" + i + "\",\"label\":\"neg\"}");
            }
            HttpResponse<String> failed = post(base, "/v1/feedback", "{\"id\":\"clf-last\",\"label\":\"neg\"}");
            assertEquals(503, failed.statusCode(), failed.body());
            assertTrue(failed.body().contains("feedback_store_unavailable"), failed.body());
            JsonNode health = get(base, "/health");
            assertEquals("ok", health.get("status").asText());
            assertEquals("error", health.at("/details/feedback/status").asText(), health::toString);
            assertTrue(health.at("/details/feedback/error").asText().contains("--feedback-dir"), health::toString);
            String metrics = scrape(base);
            assertTrue(metrics.contains("troupe_serve_feedback_store_ok 0.0"), metrics);
            assertFalse(metrics.contains("troupe_serve_feedback_store_errors_total 0.0"), metrics);
            assertEquals(200, post(base, "/v1/classify", "{\"input\":\"the king love\"}").statusCode(), "serving goes on");
        }
    }

    @Test
    void aStoreThatCannotBeCreatedIsReportedAtStartAndFeedbackIsOffWithoutADirectory() throws Exception {
        Path clf = tmp.resolve("clf-small2");
        StringBuilder rows = new StringBuilder();
        for (String[] row : examples(false, 16, 6)) {
            rows.append(row[0]).append('\t').append(row[1]).append('\n');
        }
        troupe("finetune", "--from", pretrained, "--task", "classify", "--data", Files.writeString(tmp.resolve("s2.tsv"), rows),
                "--out", clf, "--steps", 2, "--threads", 1, SETTINGS).assertOk();
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        List<String> said = new CopyOnWriteArrayList<>();
        MonitorSettings readOnly = MonitorSettings.defaults().withFeedback(file.resolve("feedback"), 1 << 20, 2);
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null, readOnly, said::add)) {
            server.load(clf, 1, 2);
            String base = "http://127.0.0.1:" + server.port();
            assertTrue(said.stream().anyMatch(l -> l.contains("cannot write the feedback store")), said::toString);
            assertEquals("error", get(base, "/health").at("/details/feedback/status").asText());
            assertEquals(503, post(base, "/v1/feedback", "{\"id\":\"x\",\"label\":\"pos\"}").statusCode());
        }
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null)) {
            server.load(clf, 1, 2);
            HttpResponse<String> off = post("http://127.0.0.1:" + server.port(), "/v1/feedback", "{\"id\":\"x\",\"label\":\"pos\"}");
            assertEquals(404, off.statusCode(), off.body());
            assertTrue(off.body().contains("--feedback-dir"), off.body());
        }
    }
}
