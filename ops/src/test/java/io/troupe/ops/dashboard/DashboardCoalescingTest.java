package io.troupe.ops.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.worker.run.TrainListener.StepStats;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a run's dashboard costs the training thread: steps taken between two messages travel
 * together in one, and a step never waits for a message being built.
 */
class DashboardCoalescingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration PERIOD = Duration.ofMillis(250);
    private static final int STEPS = 1500;

    @TempDir
    Path tmp;

    @Test
    void theStepsOfAPeriodTravelInOneMessageEachExactlyOnce() throws Exception {
        DashboardState state = new DashboardState(tmp.resolve("events.jsonl"), Clock.systemUTC());
        state.onStart(0, STEPS, 1000);
        try (DashboardServer server = DashboardServer.start("127.0.0.1", 0, state, null, PERIOD)) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<Stream<String>> response = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/events")).build(),
                    HttpResponse.BodyHandlers.ofLines());
            List<Double> received = new ArrayList<>();
            int messagesWithPoints = 0;
            long started;
            long elapsedNanos;
            try (Stream<String> lines = response.body()) {
                Iterator<String> it = lines.iterator();
                JsonNode first = next(it);
                assertTrue(first.get("full").asBoolean());
                // A run far faster than the stream: ~1 step a millisecond, several hundred per period.
                started = System.nanoTime();
                Thread producer = new Thread(() -> {
                    for (int step = 1; step <= STEPS; step++) {
                        state.onStep(new StepStats(step, STEPS, 4.0 - step * 1e-3, 1e-3, 1.0, 2000, 1, 0.01, 1, 0, 0));
                        if (step % 5 == 0) {
                            sleepQuietly(5);
                        }
                    }
                });
                producer.start();
                while (received.size() < STEPS) {
                    JsonNode message = next(it);
                    JsonNode steps = message.get("steps");
                    if (steps.size() > 0) {
                        messagesWithPoints++;
                    }
                    steps.forEach(p -> received.add(p.get(0).asDouble()));
                }
                elapsedNanos = System.nanoTime() - started;
                producer.join();
            }
            for (int i = 0; i < STEPS; i++) {
                assertEquals(i + 1.0, received.get(i), "every step once, in order");
            }
            // At most one message per period (plus the one in flight when the first step came).
            long periods = elapsedNanos / PERIOD.toNanos();
            assertTrue(messagesWithPoints <= periods + 2,
                    messagesWithPoints + " messages carried the " + STEPS + " steps in " + periods + " periods");
            assertTrue(messagesWithPoints < STEPS / 10, "points are batched, not sent one by one: " + messagesWithPoints);
        }
    }

    @Test
    void aStepDoesNotWaitForAMessageBeingBuilt() throws Exception {
        BlockingClock clock = new BlockingClock();
        DashboardState state = new DashboardState(tmp.resolve("events.jsonl"), clock);
        DashboardState.Cursor cursor = state.cursor();
        state.next(cursor);
        clock.block();
        Thread stream = new Thread(() -> state.next(cursor));
        stream.start();
        assertTrue(clock.entered.await(10, TimeUnit.SECONDS), "the message is being built");
        // The message is stuck mid-build (holding what it holds); the training thread goes on.
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            for (int step = 1; step <= 100; step++) {
                state.onStep(new StepStats(step, 100, 3.0, 1e-3, 1.0, 2000, 10, 0.01, 1, 0, 0));
            }
            state.onEval(100, 3.0, 3.1);
        }, "onStep waited for the message being built");
        clock.release.countDown();
        stream.join(10_000);
        JsonNode delta = JSON.readTree(state.next(cursor));
        assertEquals(100, delta.get("steps").size(), "the steps taken meanwhile come in the next message: " + delta);
        assertEquals(1, delta.get("evals").size());
        assertEquals(100, delta.get("step").asLong());
    }

    private static JsonNode next(Iterator<String> lines) throws Exception {
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.startsWith("data: ")) {
                return JSON.readTree(line.substring("data: ".length()));
            }
        }
        throw new AssertionError("the stream ended");
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A clock whose reading blocks, once armed, until released: a message stuck while being built. */
    private static final class BlockingClock extends Clock {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private volatile boolean armed;

        void block() {
            armed = true;
        }

        @Override
        public Instant instant() {
            if (armed) {
                armed = false;
                entered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return Instant.parse("2026-12-07T00:00:00Z");
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
