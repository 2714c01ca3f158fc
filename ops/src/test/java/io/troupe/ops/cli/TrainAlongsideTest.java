package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.WorkerPool;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.engine.Device;
import io.troupe.worker.session.WorkerSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tune --external --train-alongside}: a study and a training job on the same two workers. */
class TrainAlongsideTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TINY = "n_layer = 1\nn_head = 2\nn_embd = 16\nblock_size = 16\nbatch_size = 4\n"
            + "eval_iters = 2\neval_interval = 10\nwarmup_iters = 2\n";

    @TempDir
    Path tmp;

    @Test
    void theJobTrainsOnTheWorkersTheTrialsLeaveAndEveryStepOnce() throws Exception {
        Path data = Files.writeString(tmp.resolve("corpus.txt"), CliRun.TEXT);
        Path space = Files.writeString(tmp.resolve("space.conf"), "fixed { " + TINY.replace('\n', ',')
                + " }\nparams { learning_rate { type = log, min = 1e-3, max = 3e-2 } }\n");
        Path job = Files.writeString(tmp.resolve("job.conf"), TINY + "max_iters = 60\nlearning_rate = 1e-2\n");
        Path jobDir = tmp.resolve("job");
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> troupe("tune", "--space", space, "--data", data,
                "--out", tmp.resolve("study"), "--threads", 1, "--trials", 3, "--steps", 20, "--workers", 2, "--external",
                "--bind", "127.0.0.1:" + port, "--train-alongside", job, "--train-out", jobDir));
        List<CompletableFuture<String>> workers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            workers.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return ClusterNode.runWorker("127.0.0.1", port, "127.0.0.1",
                            new WorkerSettings(1, Device.cpu(), TroupeVersion.current()), RingSettings.defaults(),
                            new ClusterNode.Timings(Duration.ofSeconds(60), 5, Duration.ofSeconds(60),
                                    Duration.ofSeconds(5), Duration.ofSeconds(30)), Duration.ofSeconds(60));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        CliRun done = run.get(300, TimeUnit.SECONDS).assertOk();
        assertTrue(done.out().contains("done: 3 trials (3 complete, 0 pruned, 0 failed)"), done.toString());
        assertTrue(done.out().contains("training job beside the study (" + jobDir + "):\ndone: 60 steps"), done.toString());

        // The job got workers from the pool (when the trials left them idle) and trained every sample once.
        List<JsonNode> pool = new ArrayList<>();
        for (String line : Files.readAllLines(jobDir.resolve(WorkerPool.EVENTS))) {
            pool.add(JSON.readTree(line));
        }
        // (Every line of the job's pool.jsonl involves the job: an assign is a worker placed in it.)
        assertTrue(pool.stream().anyMatch(e -> e.get("event").asText().equals("assign")), pool.toString());
        JsonNode summary = JSON.readTree(jobDir.resolve("summary.json").toFile());
        assertEquals(60, summary.get("steps").asLong());
        assertEquals(60 * 4, summary.get("samples_consumed").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_duplicated").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_lost").asLong(), summary.toString());
        for (CompletableFuture<String> w : workers) {
            assertNull(w.get(60, TimeUnit.SECONDS), "the worker ends when the study does");
        }
    }

    @Test
    void badOptionsAreOneLineErrors() throws Exception {
        Path data = Files.writeString(tmp.resolve("corpus.txt"), CliRun.TEXT);
        Path space = Files.writeString(tmp.resolve("space.conf"),
                "params { learning_rate { type = log, min = 1e-3, max = 3e-2 } }\n");
        Path job = Files.writeString(tmp.resolve("job.conf"), "max_iters = 10\n");
        troupe("tune", "--space", space, "--data", data, "--out", tmp.resolve("a"), "--trials", 2, "--steps", 10,
                "--train-alongside", job, "--train-out", tmp.resolve("j"))
                .assertOneLineError("--train-alongside shares the workers of --external; pass --external");
        troupe("tune", "--space", space, "--data", data, "--out", tmp.resolve("b"), "--trials", 2, "--steps", 10,
                "--external", "--train-alongside", job).assertOneLineError("--train-alongside needs --train-out DIR");
        Path unknown = Files.writeString(tmp.resolve("bad.conf"), "max_iters = 10\nlearning_rat = 1\n");
        troupe("tune", "--space", space, "--data", data, "--out", tmp.resolve("c"), "--trials", 2, "--steps", 10,
                "--external", "--train-alongside", unknown, "--train-out", tmp.resolve("j"))
                .assertOneLineError("line 2: 'learning_rat' is not a training key");
        troupe("tune", "--space", space, "--data", data, "--out", tmp.resolve("d"), "--trials", 2, "--steps", 10,
                "--train-out", tmp.resolve("j")).assertOneLineError("describe --train-alongside FILE.conf");
    }
}
