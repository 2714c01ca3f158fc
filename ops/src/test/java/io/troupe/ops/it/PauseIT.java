package io.troupe.ops.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Pauses are not deaths: a worker of three is frozen with SIGSTOP for 10 s (as a long GC pause
 * or a suspended VM would freeze it), longer than Pekko's acceptable heartbeat pause. The frozen
 * worker is taken out, and the two healthy workers, which were blocked in the all-reduce waiting
 * for it, carry on instead of being released as silent. No sample is lost or counted twice.
 */
class PauseIT extends ProcessTest {
    private static final int STEPS = 400;
    private static final int GLOBAL_BATCH = 12;
    private static final Pattern STEP = Pattern.compile("\"step\"\\s*:\\s*(\\d+)");
    private static final Pattern RECOVERED = Pattern.compile("recovered: step \\d+ completed");

    @Test
    void frozenWorkerCostsAtMostTheStepInFlight() throws Exception {
        Path out = dir.resolve("run");
        Path log = dir.resolve("coordinator.log");
        Process coordinator = processes.start(log, "coordinator", "--bind", "127.0.0.1:0", "--workers", "3",
                "--max-workers", "3", "--data", TroupeProcesses.SHAKESPEARE.toString(), "--out", out.toString(),
                "--preset", "shakespeare-char-small", "--steps", String.valueOf(STEPS), "--seed", "1337",
                "eval_iters=2", "eval_interval=1000", "log_interval=1");
        String port = TroupeProcesses.awaitPort(log, coordinator);
        Process frozen = worker(port, "worker-a");
        worker(port, "worker-b");
        worker(port, "worker-c");

        // A 10 s freeze is longer than the failure detector's acceptable pause (2 s): the worker is
        // taken out, and the others, blocked in the all-reduce, answer the probe and go on.
        awaitStep(out, coordinator, 40);
        long stoppedAt = System.nanoTime();
        signal(frozen, "STOP");
        TroupeProcesses.awaitMatch(log, coordinator, RECOVERED, 60);
        double recoverySeconds = (System.nanoTime() - stoppedAt) / 1e9;
        System.out.printf("PauseIT: SIGSTOP to first completed step of the new ring: %.2f s%n", recoverySeconds);
        long sinceStop = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
        Thread.sleep(Math.max(0, 10_000 - sinceStop));
        signal(frozen, "CONT");

        assertTrue(coordinator.waitFor(300, TimeUnit.SECONDS), "coordinator did not finish: " + TroupeProcesses.tail(log));
        assertEquals(0, coordinator.exitValue(), "coordinator failed: " + TroupeProcesses.tail(log));
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(STEPS, summary.get("steps").asInt(), summary.toString());
        assertEquals((long) STEPS * GLOBAL_BATCH, summary.get("samples_consumed").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_duplicated").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_lost").asLong(), summary.toString());
        assertTrue(summary.get("workers").asInt() >= 2, "the healthy workers were released: " + summary);
        assertTrue(recoverySeconds < 30, "recovery took " + recoverySeconds + " s");
    }

    private Process worker(String port, String name) throws Exception {
        return processes.start(dir.resolve(name + ".log"), "worker", "--join", "127.0.0.1:" + port, "--threads", "1");
    }

    /** Sends {@code kill -SIGNAL} to the worker's JVM (started directly by {@code java -jar}). */
    private static void signal(Process p, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(p.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal + " failed");
    }

    /** Waits until the run's metrics log has reached {@code step}. */
    private static void awaitStep(Path out, Process coordinator, int step) throws Exception {
        Path metrics = out.resolve("metrics.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (System.nanoTime() < deadline) {
            if (Files.exists(metrics)) {
                List<String> lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
                if (!lines.isEmpty()) {
                    Matcher m = STEP.matcher(lines.get(lines.size() - 1));
                    if (m.find() && Integer.parseInt(m.group(1)) >= step) {
                        return;
                    }
                }
            }
            assertTrue(coordinator.isAlive(), "coordinator exited before step " + step);
            Thread.sleep(20);
        }
        throw new AssertionError("step " + step + " was never reached");
    }
}
