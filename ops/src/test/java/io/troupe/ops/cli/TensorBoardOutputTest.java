package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.protocol.tensorboard.Event;
import io.troupe.protocol.tensorboard.Summary;
import io.troupe.worker.metrics.TensorBoardEvents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train} writes DIR/tb/: the same numbers as metrics.jsonl, in a file TensorBoard reads. */
class TensorBoardOutputTest {

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
    void theEventFileHoldsTheLoggedNumbers() throws Exception {
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 4).assertOk();
        List<Path> files = eventFiles(out);
        assertEquals(1, files.size(), files.toString());

        Map<Long, Map<String, Float>> byStep = new HashMap<>();
        List<Event> events = TensorBoardEvents.read(files.get(0));
        assertEquals("brain.Event:2", events.get(0).getFileVersion());
        for (Event e : events.subList(1, events.size())) {
            for (Summary.Value v : e.getSummary().getValueList()) {
                byStep.computeIfAbsent(e.getStep(), s -> new HashMap<>()).put(v.getTag(), v.getSimpleValue());
            }
        }
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode m = JSON.readTree(line);
            Map<String, Float> tb = byStep.get(m.get("step").asLong());
            if (m.get("step").asLong() > 0) {
                assertEquals((float) m.get("train_loss").asDouble(), tb.get("loss/train"), 0, line);
                assertEquals((float) m.get("lr").asDouble(), tb.get("lr"), 0, line);
                assertEquals((float) m.get("tokens_per_s").asDouble(), tb.get("tokens_per_second"), 0, line);
                assertEquals((float) m.get("mfu").asDouble(), tb.get("mfu"), 0, line);
            }
            if (m.has("val_loss")) {
                assertEquals((float) m.get("val_loss").asDouble(), tb.get("loss/val"), 0, line);
            }
        }
        assertEquals(Map.of(0L, 2, 1L, 5, 2L, 7, 3L, 5, 4L, 7), sizes(byStep), "eval at 0, 2, 4 (TINY eval_interval=2)");
    }

    @Test
    void resumeAddsAFileAndForceStartsOver() throws Exception {
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 2).assertOk();
        trainTiny(corpus, out, 4, "--resume").assertOk();
        assertEquals(2, eventFiles(out).size());
        trainTiny(corpus, out, 2, "--force").assertOk();
        assertEquals(1, eventFiles(out).size());
    }

    private static Map<Long, Integer> sizes(Map<Long, Map<String, Float>> byStep) {
        Map<Long, Integer> sizes = new HashMap<>();
        byStep.forEach((step, values) -> sizes.put(step, values.size()));
        return sizes;
    }

    private static List<Path> eventFiles(Path run) throws Exception {
        try (Stream<Path> files = Files.list(run.resolve("tb"))) {
            return files.filter(f -> f.getFileName().toString().contains("tfevents")).sorted().toList();
        }
    }
}
