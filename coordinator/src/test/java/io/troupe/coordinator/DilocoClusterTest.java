package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.Device;
import io.troupe.worker.plane.DataPlane;
import io.troupe.worker.plane.PekkoDataPlane;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.session.WorkerSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DiLoCo on an embedded cluster: a stopped and resumed run ends bit-identical to an uninterrupted
 * one, and a worker that fails at an outer step costs the ring only the inner steps of that
 * round, then rejoins with the outer state.
 */
class DilocoClusterTest {
    private static final int H = 5;
    /** The schedule is fixed at 20 steps so a 10-step run and its resume follow the 20-step run's. */
    private static final Map<String, String> DILOCO = Map.of("sync", "diloco", "inner_steps", String.valueOf(H),
            "outer_lr", "0.7", "outer_momentum", "0.9", "lr_decay_iters", "20", "learning_rate", "1e-2");

    @TempDir
    Path dir;

    private JobOutcome run(JobSpec spec) throws InterruptedException {
        return ClusterNode.runEmbedded(spec, new WorkerSettings(1, Device.cpu(), "test-version"),
                RingSettings.defaults(), TrainListener.SILENT);
    }

    private static JobSpec resumed(JobSpec s) {
        return new JobSpec("test-job-resumed", s.settings(), s.tokenizer(), s.dataPath(), s.dataSha256(), s.outDir(),
                s.workers(), s.version(), s.stepTimeout(), s.verifyInterval(), s.wire(), ElasticPolicy.defaults(s.workers()),
                true);
    }

    @Test
    void aTwoWorkerRunResumedFromItsOuterCheckpointEndsBitIdentical() throws Exception {
        Path data = MultiSystemTrainingTest.corpus(dir);
        JobSpec whole = MultiSystemTrainingTest.tinyJob(data, dir.resolve("whole"), 2, 20, H, DILOCO);
        assertNull(run(whole).failure());
        JobSpec firstHalf = MultiSystemTrainingTest.tinyJob(data, dir.resolve("split"), 2, 10, H, DILOCO);
        assertNull(run(firstHalf).failure());
        JobSpec secondHalf = resumed(MultiSystemTrainingTest.tinyJob(data, dir.resolve("split"), 2, 20, H, DILOCO));
        JobOutcome outcome = run(secondHalf);
        assertNull(outcome.failure(), "the resume failed: " + outcome.failure());

        Checkpoint a = CheckpointStore.load(new CheckpointStore(dir.resolve("whole"), 3).pathOf(20));
        Checkpoint b = CheckpointStore.load(new CheckpointStore(dir.resolve("split"), 3).pathOf(20));
        Checkpoint start = CheckpointStore.load(new CheckpointStore(dir.resolve("whole"), 3).pathOf(10));
        assertTrue(maxDifference(start.parameters(), a.parameters()) > 1e-3, "the second half trained");
        assertArrayEquals(a.parameters(), b.parameters(), 0f, "outer parameters after 20 steps");
        assertArrayEquals(a.adamM(), b.adamM(), 0f, "averaged first moments");
        assertArrayEquals(a.adamV(), b.adamV(), 0f, "averaged second moments");
        long[] momentum = a.extraRngState().get("diloco_outer_momentum");
        assertNotNull(momentum, "a DiLoCo checkpoint holds the outer momentum");
        assertTrue(java.util.Arrays.stream(momentum).anyMatch(w -> w != 0), "the outer momentum is not zero");
        assertArrayEquals(momentum, b.extraRngState().get("diloco_outer_momentum"));
    }

    @Test
    void aWorkerThatFailsAtAnOuterStepCostsOnlyThatRoundAndRejoinsWithTheOuterState() throws Exception {
        Path data = MultiSystemTrainingTest.corpus(dir);
        Path out = dir.resolve("run");
        Map<String, String> settings = new java.util.HashMap<>(DILOCO);
        settings.put("lr_decay_iters", "60");
        JobSpec job = MultiSystemTrainingTest.tinyJob(data, out, 2, 60, H, settings);
        CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();
        List<WorkerRestartTest.FailingOnce> planes = new ArrayList<>();
        List<Integer> rings = new java.util.concurrent.CopyOnWriteArrayList<>();
        TrainListener counting = new TrainListener() {
            @Override
            public void onRingFormed(int workers) {
                rings.add(workers);
            }
        };
        // Rank 1's outer all-reduce of step 10 throws: neither worker completes step 10.
        ActorSystem<Guardian.WorkersOf> system = ActorSystem.create(Behaviors.setup(ctx -> {
            List<DataPlane> workers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                WorkerRestartTest.FailingOnce plane = new WorkerRestartTest.FailingOnce(new PekkoDataPlane(
                        ctx.getSystem(), "127.0.0.1", RingSettings.defaults(), Duration.ofSeconds(30)), i == 1 ? 10 : -1);
                planes.add(plane);
                workers.add(plane);
            }
            return Guardian.create(job, null, counting, outcome::complete,
                    new WorkerSettings(1, Device.cpu(), "test-version"), workers);
        }), ClusterNode.SYSTEM_NAME, ClusterNode.config("127.0.0.1", 0, List.of(NodeRole.COORDINATOR.clusterRole(),
                NodeRole.WORKER.clusterRole())));
        try {
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
            JobOutcome result = outcome.get(180, TimeUnit.SECONDS);
            assertNull(result.failure(), "job failed: " + result.failure());
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        assertTrue(planes.get(1).failed.get(), "the failure was injected");
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(60, summary.get("steps").asInt());
        assertEquals(2, summary.get("workers").asInt(), "the failed worker is back in the ring: " + summary);
        assertEquals(360, summary.get("samples_consumed").asLong(), "60 steps of batch_size 6");
        // Steps 6-9 were trained, lost with the round, and trained again: 4 steps of 6 samples.
        assertEquals(24, summary.get("samples_duplicated").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_lost").asLong());
        assertEquals(2, rings.get(rings.size() - 1), "the last ring has the worker back: " + rings);
        // Every ring after the first formed on an outer step: joins wait for one.
        for (String line : java.nio.file.Files.readAllLines(out.resolve(JobEventLog.FILE))) {
            JsonNode e = new ObjectMapper().readTree(line);
            if (e.get("event").asText().equals("ring")) {
                assertEquals(0, e.get("step").asLong() % H, "a ring formed between outer steps: " + line);
            }
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }
}
