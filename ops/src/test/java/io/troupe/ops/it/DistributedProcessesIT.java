package io.troupe.ops.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One coordinator and two worker processes, started from troupe.jar on loopback, train 200
 * steps of the small preset on Tiny Shakespeare.
 */
class DistributedProcessesIT {
    private static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");
    private static final Pattern LISTENING = Pattern.compile("listens on ([0-9.]+):(\\d+)");

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    private Process start(Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("java", "-Xmx1g", "-jar", System.getProperty("troupe.jar")));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        return p;
    }

    @AfterEach
    void killLeftovers() {
        processes.forEach(Process::destroyForcibly);
    }

    @Test
    void coordinatorAndTwoWorkerProcessesTrain200Steps() throws Exception {
        Path out = dir.resolve("run");
        Path coordinatorLog = dir.resolve("coordinator.log");
        Process coordinator = start(coordinatorLog, "coordinator", "--bind", "127.0.0.1:0", "--workers", "2",
                "--data", SHAKESPEARE.toString(), "--out", out.toString(), "--preset", "shakespeare-char-small",
                "--steps", "200", "eval_iters=5");
        String port = awaitPort(coordinatorLog, coordinator);
        Process w1 = start(dir.resolve("worker1.log"), "worker", "--join", "127.0.0.1:" + port, "--threads", "1");
        Process w2 = start(dir.resolve("worker2.log"), "worker", "--join", "127.0.0.1:" + port, "--threads", "1");

        assertTrue(coordinator.waitFor(300, TimeUnit.SECONDS), "coordinator did not finish: " + tail(coordinatorLog));
        assertEquals(0, coordinator.exitValue(), "coordinator failed: " + tail(coordinatorLog));
        assertTrue(w1.waitFor(60, TimeUnit.SECONDS) && w2.waitFor(60, TimeUnit.SECONDS), "workers did not exit");
        assertEquals(0, w1.exitValue(), tail(dir.resolve("worker1.log")));
        assertEquals(0, w2.exitValue(), tail(dir.resolve("worker2.log")));

        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(2, summary.get("workers").asInt());
        assertEquals(200, summary.get("steps").asInt());
        // After 200 steps the small model is well below the uniform loss ln(65) = 4.17.
        assertTrue(summary.get("final_val_loss").asDouble() < 3.0, summary.toString());
        assertTrue(Files.size(out.resolve("model.onnx")) > 1_000_000);
    }

    private static String awaitPort(Path log, Process coordinator) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                Matcher m = LISTENING.matcher(Files.readString(log, StandardCharsets.UTF_8));
                if (m.find()) {
                    return m.group(2);
                }
            }
            if (!coordinator.isAlive()) {
                throw new AssertionError("coordinator exited early: " + tail(log));
            }
            Thread.sleep(200);
        }
        throw new AssertionError("coordinator never printed its address: " + tail(log));
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
