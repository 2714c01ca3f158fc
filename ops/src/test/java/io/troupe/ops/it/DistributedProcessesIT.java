package io.troupe.ops.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One coordinator and two worker processes, started from troupe.jar on loopback, train 200
 * steps of the small preset on Tiny Shakespeare.
 */
class DistributedProcessesIT extends ProcessTest {

    @Test
    void coordinatorAndTwoWorkerProcessesTrain200Steps() throws Exception {
        Path out = dir.resolve("run");
        Path coordinatorLog = dir.resolve("coordinator.log");
        Process coordinator = processes.start(coordinatorLog, "coordinator", "--bind", "127.0.0.1:0", "--workers", "2",
                "--data", TroupeProcesses.SHAKESPEARE.toString(), "--out", out.toString(), "--preset",
                "shakespeare-char-small", "--steps", "200", "eval_iters=5");
        String port = TroupeProcesses.awaitPort(coordinatorLog, coordinator);
        Process w1 = processes.start(dir.resolve("worker1.log"), "worker", "--join", "127.0.0.1:" + port, "--threads", "1");
        Process w2 = processes.start(dir.resolve("worker2.log"), "worker", "--join", "127.0.0.1:" + port, "--threads", "1");

        assertTrue(coordinator.waitFor(300, TimeUnit.SECONDS),
                "coordinator did not finish: " + TroupeProcesses.tail(coordinatorLog));
        assertEquals(0, coordinator.exitValue(), "coordinator failed: " + TroupeProcesses.tail(coordinatorLog));
        assertTrue(w1.waitFor(60, TimeUnit.SECONDS) && w2.waitFor(60, TimeUnit.SECONDS), "workers did not exit");
        assertEquals(0, w1.exitValue(), TroupeProcesses.tail(dir.resolve("worker1.log")));
        assertEquals(0, w2.exitValue(), TroupeProcesses.tail(dir.resolve("worker2.log")));

        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(2, summary.get("workers").asInt());
        assertEquals(200, summary.get("steps").asInt());
        // After 200 steps the small model is well below the uniform loss ln(65) = 4.17.
        assertTrue(summary.get("final_val_loss").asDouble() < 3.0, summary.toString());
        assertTrue(Files.size(out.resolve("model.onnx")) > 1_000_000);
        // Every sample of the 200 global batches of 12, exactly once.
        assertEquals(2400, summary.get("samples_consumed").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_duplicated").asLong());
        assertEquals(0, summary.get("samples_lost").asLong());
        assertEquals(0, summary.get("membership_changes").asLong());
    }
}
