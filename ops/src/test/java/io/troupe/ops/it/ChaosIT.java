package io.troupe.ops.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Chaos on a real cluster: a coordinator and three worker processes train the small preset;
 * one worker is killed with SIGKILL at a random step, a new worker is started later, and
 * another gets SIGTERM later still. The run must finish with every sample consumed exactly
 * once and a model as good as an undisturbed run's with the same seed.
 */
class ChaosIT extends ProcessTest {
    private static final int STEPS = 600;
    private static final int GLOBAL_BATCH = 12;
    private static final Pattern STEP = Pattern.compile("\"step\"\\s*:\\s*(\\d+)");
    private static final Pattern EVAL_LOSS = Pattern.compile("\"loss\"\\s*:\\s*([0-9.]+)");


    @Test
    void killJoinAndLeaveDuringARunLoseNothing() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int killAt = 40 + random.nextInt(60);
        String context = "chaos seed " + seed + ", SIGKILL at step " + killAt;

        Path calm = dir.resolve("calm");
        Process calmCoordinator = coordinator(calm, "calm");
        String calmPort = TroupeProcesses.awaitPort(dir.resolve("calm.log"), calmCoordinator);
        for (int i = 0; i < 3; i++) {
            worker(calmPort, "calm-worker" + i);
        }
        assertFinished(calmCoordinator, dir.resolve("calm.log"));

        Path chaos = dir.resolve("chaos");
        Path log = dir.resolve("chaos.log");
        Process coordinator = coordinator(chaos, "chaos");
        String port = TroupeProcesses.awaitPort(log, coordinator);
        Process victim = worker(port, "worker-a");
        Process leaver = worker(port, "worker-b");
        worker(port, "worker-c");

        awaitStep(chaos, coordinator, killAt);
        victim.destroyForcibly(); // SIGKILL
        assertTrue(victim.waitFor(10, TimeUnit.SECONDS));
        TroupeProcesses.awaitMatch(log, coordinator, Pattern.compile("recovered: step \\d+ completed"), 60);

        awaitStep(chaos, coordinator, killAt + 60);
        worker(port, "worker-d");
        TroupeProcesses.awaitMatch(log, coordinator, Pattern.compile("ring of 3 worker\\(s\\) continues after step (\\d+) "
                + "\\(1 syncing\\)"), 90);

        awaitStep(chaos, coordinator, killAt + 120);
        leaver.destroy(); // SIGTERM: leaves at the next step boundary, then exits
        assertTrue(leaver.waitFor(60, TimeUnit.SECONDS), context + ": the leaving worker did not exit");
        assertTrue(Files.readString(log).contains("asked to leave"), context);

        assertFinished(coordinator, log);
        JsonNode summary = new ObjectMapper().readTree(chaos.resolve("summary.json").toFile());
        assertEquals(STEPS, summary.get("steps").asInt(), context);
        assertEquals((long) STEPS * GLOBAL_BATCH, summary.get("samples_consumed").asLong(), context + ": " + summary);
        assertEquals(0, summary.get("samples_duplicated").asLong(), context);
        assertEquals(0, summary.get("samples_lost").asLong(), context);
        // The kill, the join and the leave each change the ring once.
        assertEquals(3, summary.get("membership_changes").asLong(), context + ": " + summary);
        JsonNode recoveries = summary.get("recovery_seconds");
        assertFalse(recoveries.isEmpty(), context + ": no recovery recorded: " + summary);
        for (JsonNode r : recoveries) {
            assertTrue(r.asDouble() > 0 && r.asDouble() < 30, context + ": recovery took " + r + " s");
        }
        assertEquals(2, summary.get("workers").asInt(), context + ": two workers remain at the end");

        // Same seed, same samples in the same order: the disturbed model scores like the calm one
        // on the same held-out text (the last tenth of the corpus, as the val split).
        double calmLoss = evalLoss(calm);
        double chaosLoss = evalLoss(chaos);
        assertTrue(Math.abs(calmLoss - chaosLoss) <= 0.05,
                context + ": val loss " + chaosLoss + " after chaos vs " + calmLoss + " undisturbed");
    }

    private Process coordinator(Path out, String name) throws Exception {
        return processes.start(dir.resolve(name + ".log"), "coordinator", "--bind", "127.0.0.1:0", "--workers", "3",
                "--max-workers", "3", "--data", TroupeProcesses.SHAKESPEARE.toString(), "--out", out.toString(),
                "--preset", "shakespeare-char-small", "--steps", String.valueOf(STEPS), "--seed", "1337",
                "eval_iters=5", "eval_interval=100", "log_interval=1");
    }

    private Process worker(String port, String name) throws Exception {
        return processes.start(dir.resolve(name + ".log"), "worker", "--join", "127.0.0.1:" + port, "--threads", "1");
    }

    private static void assertFinished(Process coordinator, Path log) throws Exception {
        assertTrue(coordinator.waitFor(300, TimeUnit.SECONDS), "coordinator did not finish: " + TroupeProcesses.tail(log));
        assertEquals(0, coordinator.exitValue(), "coordinator failed: " + TroupeProcesses.tail(log));
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
            Thread.sleep(50);
        }
        throw new AssertionError("step " + step + " was never reached");
    }

    /** The exported model's loss on the last tenth of the corpus, through {@code troupe eval}. */
    private double evalLoss(Path run) throws Exception {
        Path heldOut = dir.resolve("held-out.txt");
        if (!Files.exists(heldOut)) {
            String text = Files.readString(TroupeProcesses.SHAKESPEARE, StandardCharsets.UTF_8);
            Files.writeString(heldOut, text.substring(text.length() * 9 / 10), StandardCharsets.UTF_8);
        }
        Path log = dir.resolve("eval-" + run.getFileName() + ".log");
        Process eval = processes.start(log, "eval", "--model", run.toString(), "--data", heldOut.toString(), "--json");
        assertTrue(eval.waitFor(120, TimeUnit.SECONDS), TroupeProcesses.tail(log));
        assertEquals(0, eval.exitValue(), TroupeProcesses.tail(log));
        Matcher m = EVAL_LOSS.matcher(Files.readString(log));
        assertTrue(m.find(), TroupeProcesses.tail(log));
        return Double.parseDouble(m.group(1));
    }
}
