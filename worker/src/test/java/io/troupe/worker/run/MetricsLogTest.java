package io.troupe.worker.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
        assertEquals(List.of("step", "train_loss", "lr", "tokens_per_s"), fields(first));
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
