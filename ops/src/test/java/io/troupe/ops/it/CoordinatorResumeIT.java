package io.troupe.ops.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The coordinator process is killed mid-run and its newest checkpoint is damaged;
 * {@code troupe coordinator --resume DIR} on the same address falls back to the previous
 * checkpoint, says so, and the two workers, still running, rejoin it and finish the job.
 */
class CoordinatorResumeIT extends ProcessTest {
    private static final int STEPS = 400;


    @Test
    void aResumedCoordinatorFinishesTheJobWithTheSameWorkers() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Path run = dir.resolve("run");
        Path firstLog = dir.resolve("coordinator-1.log");
        Process first = processes.start(firstLog, "coordinator", "--bind", "127.0.0.1:" + port, "--workers", "2",
                "--data", TroupeProcesses.SHAKESPEARE.toString(), "--out", run.toString(), "--steps",
                String.valueOf(STEPS), "--seed", "7", "eval_iters=5", "eval_interval=50", "log_interval=10");
        TroupeProcesses.awaitPort(firstLog, first);
        Process w1 = processes.start(dir.resolve("worker-1.log"), "worker", "--join", "127.0.0.1:" + port,
                "--threads", "1");
        Process w2 = processes.start(dir.resolve("worker-2.log"), "worker", "--join", "127.0.0.1:" + port,
                "--threads", "1");

        Path checkpoints = run.resolve("checkpoints");
        TroupeProcesses.awaitMatch(firstLog, first, Pattern.compile("step 150: train loss"), 180);
        first.destroyForcibly(); // SIGKILL: no goodbye to anyone
        assertTrue(first.waitFor(10, TimeUnit.SECONDS));
        Path newest;
        try (var files = Files.list(checkpoints)) {
            newest = files.max(java.util.Comparator.comparingLong(CoordinatorResumeIT::stepOf)).orElseThrow();
        }
        Files.write(newest, new byte[] {1, 2, 3}); // damaged, as by a crash in the middle of a copy
        String newestName = newest.getFileName().toString();

        Path resumedLog = dir.resolve("coordinator-2.log");
        Process resumed = processes.start(resumedLog, "coordinator", "--bind", "127.0.0.1:" + port, "--resume",
                run.toString());
        assertTrue(resumed.waitFor(300, TimeUnit.SECONDS), TroupeProcesses.tail(resumedLog));
        assertEquals(0, resumed.exitValue(), TroupeProcesses.tail(resumedLog));
        String log = Files.readString(resumedLog);
        assertTrue(log.contains(newestName) && log.contains("trying an older one"), TroupeProcesses.tail(resumedLog));
        assertTrue(log.contains("2 syncing"), "both workers took the checkpoint from the coordinator: "
                + TroupeProcesses.tail(resumedLog));

        JsonNode summary = new ObjectMapper().readTree(run.resolve("summary.json").toFile());
        assertEquals(STEPS, summary.get("steps").asInt());
        assertEquals(STEPS * 12L, summary.get("samples_consumed").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_duplicated").asLong());
        assertEquals(0, summary.get("samples_lost").asLong());
        assertTrue(summary.get("final_val_loss").asDouble() < 2.6, summary.toString());
        assertTrue(w1.waitFor(60, TimeUnit.SECONDS) && w2.waitFor(60, TimeUnit.SECONDS), "workers did not exit");
        assertEquals(0, w1.exitValue(), TroupeProcesses.tail(dir.resolve("worker-1.log")));
    }

    private static long stepOf(Path checkpoint) {
        return Long.parseLong(checkpoint.getFileName().toString().replaceAll("\\D", ""));
    }
}
