package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An embedded 2-worker run's DIR/events.jsonl, and its resume appending to it. */
class EventsFileTest {

    private static final ObjectMapper JSON = new ObjectMapper();

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
    void joinsRingCheckpointsAndEndAreLoggedAndAResumeAppends() throws Exception {
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 2, "--workers", "2").assertOk();
        List<JsonNode> first = events(out);
        assertEquals(List.of("job_start", "join", "join", "ring", "checkpoint", "job_end"),
                first.stream().map(e -> e.get("event").asText()).toList(), first.toString());
        JsonNode ring = first.get(3).get("workers");
        assertEquals(2, ring.size());
        assertEquals("127.0.0.1", ring.get(0).get("host").asText());
        assertEquals(2, first.get(4).get("step").asLong());
        assertTrue(first.get(5).get("error").isNull());

        trainTiny(corpus, out, 4, "--workers", "2", "--resume").assertOk();
        List<JsonNode> all = events(out);
        assertEquals(first, all.subList(0, first.size()), "the first run's history is kept");
        JsonNode resumed = all.get(first.size());
        assertEquals("job_start", resumed.get("event").asText());
        assertTrue(resumed.get("resumed").asBoolean());
        assertEquals(2, resumed.get("step").asLong());
        assertEquals(4, all.get(all.size() - 1).get("step").asLong());
        Instant previous = Instant.EPOCH;
        for (JsonNode e : all) {
            Instant time = Instant.parse(e.get("time").asText());
            assertTrue(!time.isBefore(previous), "times in order: " + all);
            previous = time;
        }
    }

    private static List<JsonNode> events(Path run) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("events.jsonl"))) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }
}
