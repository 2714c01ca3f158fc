package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.engine.Device;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.session.WorkerSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One pool, a training job and a trial on three worker systems: the job grows to three workers,
 * a trial of higher priority takes one of them (an elastic leave of the job), and when the trial
 * ends the worker goes back to the job (an elastic join). The job never restarts and trains
 * every sample of its steps exactly once.
 */
class SharedPoolTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    @org.junit.jupiter.api.Timeout(value = 300) // without a lend the trial would wait for a worker for ever
    void aTrialBorrowsAWorkerOfTheRunningJobAndGivesItBackWhenItEnds() throws Exception {
        Path data = MultiSystemTrainingTest.corpus(dir);
        Path jobDir = dir.resolve("job");
        Path trialDir = dir.resolve("trial");
        JobSpec tiny = MultiSystemTrainingTest.tinyJob(data, jobDir, 1, 100_000, 1000, Map.of("eval_interval", "1000"));
        // The job starts on one worker and grows to three; it never lends below one.
        JobSpec job = new JobSpec("job", tiny.settings(), tiny.tokenizer(), tiny.dataPath(), tiny.dataSha256(), jobDir,
                1, tiny.version(), tiny.stepTimeout(), tiny.verifyInterval(), tiny.wire(),
                new ElasticPolicy(1, 3, Duration.ofSeconds(1), Duration.ofSeconds(15)), false);
        JobSpec trialTiny = MultiSystemTrainingTest.tinyJob(data, trialDir, 1, 15);
        JobSpec trial = new JobSpec("trial", trialTiny.settings(), trialTiny.tokenizer(), trialTiny.dataPath(),
                trialTiny.dataSha256(), trialDir, 1, trialTiny.version(), trialTiny.stepTimeout(),
                trialTiny.verifyInterval(), trialTiny.wire());
        PoolPolicy.Settings pooling = new PoolPolicy.Settings(new PoolPolicy.Share(1, 1, 10),
                new PoolPolicy.Share(2, 1, 10), Duration.ofMillis(1500), false);

        AtomicInteger ringSize = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        TrainListener watcher = new TrainListener() {
            @Override
            public void onStep(StepStats stats) {
                ringSize.set(stats.workers());
            }

            @Override
            public boolean stopRequested() {
                return stop.get();
            }
        };
        try (ClusterNode.JobHost host = ClusterNode.JobHost.start("127.0.0.1", 0, Optional.empty(), pooling)) {
            CompletableFuture<JobOutcome> training = CompletableFuture.supplyAsync(() -> run(host, job, watcher,
                    PoolPolicy.Kind.TRAINING));
            List<CompletableFuture<String>> workers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                workers.add(CompletableFuture.supplyAsync(() -> worker(host)));
            }
            awaitRing(ringSize, 3, training, "the job grows to the three idle workers");

            JobOutcome trialOutcome = run(host, trial, TrainListener.SILENT, PoolPolicy.Kind.TRIAL);
            assertNull(trialOutcome.failure(), "the trial failed: " + trialOutcome.failure());
            assertEquals(15, trialOutcome.summary().steps());
            awaitRing(ringSize, 3, training, "the lent worker comes back to the job");
            stop.set(true);
            JobOutcome trained = training.get(120, TimeUnit.SECONDS);
            assertNull(trained.failure(), "the job failed: " + trained.failure());

            // The pool's log: a worker of the job lent to the trial, then placed back in the job.
            List<JsonNode> pool = lines(jobDir.resolve(WorkerPool.EVENTS));
            JsonNode lend = pool.stream().filter(e -> e.get("event").asText().equals("lend")).findFirst().orElseThrow();
            assertEquals("job", lend.get("from").asText());
            assertEquals("trial", lend.get("to").asText());
            String lent = lend.get("worker").asText();
            assertTrue(pool.stream().anyMatch(e -> e.get("event").asText().equals("assign")
                    && e.get("worker").asText().equals(lent) && e.get("from").asText().equals("trial")
                    && e.get("to").asText().equals("job")), "the lent worker went back to the job: " + pool);
            assertTrue(lines(trialDir.resolve(WorkerPool.EVENTS)).stream().anyMatch(e -> e.get("event").asText()
                    .equals("lend")), "the trial's directory records the lend too");

            // The job's own history: one start (no restart), a leave, rings of 3, 2 and 3 workers.
            List<JsonNode> events = lines(jobDir.resolve(JobEventLog.FILE));
            assertEquals(1, events.stream().filter(e -> e.get("event").asText().equals("job_start")).count());
            assertTrue(events.stream().anyMatch(e -> e.get("event").asText().equals("leave")), events.toString());
            List<Integer> rings = events.stream().filter(e -> e.get("event").asText().equals("ring"))
                    .map(e -> e.get("workers").size()).toList();
            assertTrue(inOrder(rings, 3, 2, 3), "rings " + rings);

            // Every sample of every step the job committed was trained once, through the lend and the return.
            JsonNode summary = JSON.readTree(jobDir.resolve("summary.json").toFile());
            long steps = summary.get("steps").asLong();
            assertEquals(steps * job.settings().batchSize(), summary.get("samples_consumed").asLong(), summary.toString());
            assertEquals(0, summary.get("samples_duplicated").asLong(), summary.toString());
            assertEquals(0, summary.get("samples_lost").asLong(), summary.toString());
            for (CompletableFuture<String> w : workers) {
                w.cancel(true); // they leave when the host closes
            }
        }
    }

    private static JobOutcome run(ClusterNode.JobHost host, JobSpec spec, TrainListener listener, PoolPolicy.Kind kind) {
        try {
            return host.run(spec, listener, kind);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String worker(ClusterNode.JobHost host) {
        try {
            return ClusterNode.runWorker(host.address().getHost().get(), (Integer) host.address().getPort().get(),
                    "127.0.0.1", new WorkerSettings(1, Device.cpu(), "test-version"), RingSettings.defaults(),
                    new ClusterNode.Timings(Duration.ofSeconds(60), 1000, Duration.ofSeconds(30), Duration.ofSeconds(5),
                            Duration.ofSeconds(30)), Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitRing(AtomicInteger ringSize, int size, CompletableFuture<JobOutcome> training, String what)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (ringSize.get() != size) {
            if (training.isDone()) {
                throw new AssertionError(what + ": the job ended first: " + training.get().failure());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": the ring still has " + ringSize.get() + " worker(s)");
            }
            Thread.sleep(50);
        }
    }

    /** True when {@code sizes} holds {@code wanted} in this order (other sizes between them allowed). */
    private static boolean inOrder(List<Integer> sizes, int... wanted) {
        int next = 0;
        for (int size : sizes) {
            if (next < wanted.length && size == wanted[next]) {
                next++;
            }
        }
        return next == wanted.length;
    }

    private static List<JsonNode> lines(Path file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }
}
