package io.troupe.worker.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void writesOneFlushedJsonObjectPerLine() throws Exception {
        Path run = dir.resolve("run");
        try (MetricsLog log = MetricsLog.open(run)) {
            log.append(MetricsLog.Entry.train(0, 4.17, 1e-5, 12345.5));
            // flushed per line: visible before close
            assertEquals(1, Files.readAllLines(run.resolve("metrics.jsonl")).size());
            log.append(MetricsLog.Entry.train(250, 1.83, 9.8e-4, 40000).withValLoss(1.97));
        }
        List<String> lines = Files.readAllLines(run.resolve(MetricsLog.FILE_NAME));
        assertEquals(2, lines.size());
        JsonNode first = MAPPER.readTree(lines.get(0));
        assertEquals(List.of("step", "time", "elapsed_s", "train_loss", "lr", "tokens_per_s"), fields(first));
        assertEquals(0, first.get("step").asLong());
        assertEquals(4.17, first.get("train_loss").asDouble(), 0);
        assertEquals(1e-5, first.get("lr").asDouble(), 0);
        assertEquals(12345.5, first.get("tokens_per_s").asDouble(), 0);
        JsonNode second = MAPPER.readTree(lines.get(1));
        assertEquals(1.97, second.get("val_loss").asDouble(), 0);
        assertEquals(250, second.get("step").asLong());
    }

    @Test
    void reopeningAppends() throws Exception {
        try (MetricsLog log = MetricsLog.open(dir)) {
            log.append(MetricsLog.Entry.train(1, 2, 3, 4));
        }
        try (MetricsLog log = MetricsLog.open(dir)) {
            log.append(MetricsLog.Entry.train(2, 2, 3, 4));
        }
        assertEquals(2, Files.readAllLines(dir.resolve(MetricsLog.FILE_NAME)).size());
    }

    @Test
    void resumeDropsLinesAfterTheCheckpointAndATornLastLine() throws Exception {
        try (MetricsLog log = MetricsLog.open(dir)) {
            for (int step = 0; step <= 5; step++) {
                log.append(MetricsLog.Entry.train(step, 1, 1, 1));
            }
        }
        Files.writeString(dir.resolve(MetricsLog.FILE_NAME), "{\"step\":6,\"train_lo",
                StandardOpenOption.APPEND);
        try (MetricsLog log = MetricsLog.resume(dir, 3)) {
            log.append(MetricsLog.Entry.train(4, 0.5, 1, 1));
        }
        List<String> lines = Files.readAllLines(dir.resolve(MetricsLog.FILE_NAME));
        assertEquals(5, lines.size());
        long[] steps = lines.stream().mapToLong(MetricsLogTest::step).toArray();
        assertArrayEquals(new long[] {0, 1, 2, 3, 4}, steps);
        assertEquals(0.5, MAPPER.readTree(lines.get(4)).get("train_loss").asDouble(), 0);
    }

    /** A clock the test moves by hand: no sleeping, no timing. */
    private static final class HandClock extends Clock {
        private Instant now;

        HandClock(String start) {
            now = Instant.parse(start);
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void linesCarryTheUtcTimeAndTheSecondsSinceTheRunStarted() throws Exception {
        HandClock clock = new HandClock("2026-12-06T03:00:00Z");
        try (MetricsLog log = MetricsLog.open(dir, clock)) {
            clock.advance(Duration.ofMillis(1500));
            log.append(MetricsLog.Entry.train(1, 2, 3, 4));
            clock.advance(Duration.ofSeconds(10));
            log.append(MetricsLog.Entry.train(2, 2, 3, 4));
        }
        List<JsonNode> lines = read();
        assertEquals("2026-12-06T03:00:01.500Z", lines.get(0).get("time").asText());
        assertEquals(1.5, lines.get(0).get("elapsed_s").asDouble(), 0);
        assertEquals("2026-12-06T03:00:11.500Z", lines.get(1).get("time").asText());
        assertEquals(11.5, lines.get(1).get("elapsed_s").asDouble(), 0);
    }

    @Test
    void aResumedLogContinuesElapsedFromTheLastLineItKeeps() throws Exception {
        HandClock clock = new HandClock("2026-12-06T03:00:00Z");
        try (MetricsLog log = MetricsLog.open(dir, clock)) {
            for (int step = 1; step <= 4; step++) {
                clock.advance(Duration.ofSeconds(2));
                log.append(MetricsLog.Entry.train(step, 1, 1, 1));
            }
        }
        // Crashed after step 4, checkpointed at 3 (elapsed 6 s); resumed an hour later.
        clock.advance(Duration.ofHours(1));
        try (MetricsLog log = MetricsLog.resume(dir, 3, clock)) {
            clock.advance(Duration.ofSeconds(5));
            log.append(MetricsLog.Entry.train(4, 0.5, 1, 1));
        }
        List<JsonNode> lines = read();
        assertEquals(4, lines.size());
        assertEquals(6.0, lines.get(2).get("elapsed_s").asDouble(), 0);
        assertEquals(11.0, lines.get(3).get("elapsed_s").asDouble(), 0, "6 s before the crash + 5 s since the resume");
        assertEquals("2026-12-06T04:00:13Z", lines.get(3).get("time").asText());
    }

    @Test
    void aResumedLogWithoutElapsedStartsFromZero() throws Exception {
        Files.writeString(dir.resolve(MetricsLog.FILE_NAME), "{\"step\":1,\"train_loss\":1.0}\n");
        HandClock clock = new HandClock("2026-12-06T03:00:00Z");
        try (MetricsLog log = MetricsLog.resume(dir, 1, clock)) {
            clock.advance(Duration.ofSeconds(3));
            log.append(MetricsLog.Entry.train(2, 1, 1, 1));
        }
        assertEquals(3.0, read().get(1).get("elapsed_s").asDouble(), 0);
    }

    private List<JsonNode> read() throws Exception {
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(MetricsLog.FILE_NAME))) {
            nodes.add(MAPPER.readTree(line));
        }
        return nodes;
    }

    private static long step(String line) {
        try {
            return MAPPER.readTree(line).get("step").asLong();
        } catch (Exception e) {
            throw new AssertionError(line, e);
        }
    }

    private static List<String> fields(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
