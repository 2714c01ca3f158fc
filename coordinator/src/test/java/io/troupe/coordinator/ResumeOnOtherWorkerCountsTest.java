package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.Device;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.session.WorkerSettings;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job resumed on another worker count keeps its global batch and its sample order: 4 workers
 * for steps 1-10, 2 workers for 11-20, 3 workers for 21-30 train on exactly the samples of an
 * uninterrupted 4-worker run, each once, and end within float rounding of it.
 */
class ResumeOnOtherWorkerCountsTest {
    /** Batch 12 splits evenly over 4, 2 and 3 workers; the schedule is fixed at 30 steps. */
    private static final Map<String, String> SETTINGS = Map.of("batch_size", "12", "lr_decay_iters", "30",
            "learning_rate", "3e-3", "dropout", "0");

    @TempDir
    Path dir;

    private JobOutcome run(JobSpec spec) throws InterruptedException {
        return ClusterNode.runEmbedded(spec, new WorkerSettings(1, Device.cpu(), "test-version"),
                RingSettings.defaults(), TrainListener.SILENT);
    }

    private JobSpec job(Path data, Path out, int workers, int steps, boolean resume) throws Exception {
        JobSpec s = MultiSystemTrainingTest.tinyJob(data, out, workers, steps, SETTINGS);
        return resume ? new JobSpec("resumed-" + workers, s.settings(), s.tokenizer(), s.dataPath(), s.dataSha256(),
                s.outDir(), workers, s.version(), s.stepTimeout(), s.verifyInterval(), s.wire(),
                ElasticPolicy.defaults(workers), true) : s;
    }

    @Test
    void fourThenTwoThenThreeWorkersTrainTheSameSamplesAsFourThroughout() throws Exception {
        Path data = MultiSystemTrainingTest.corpus(dir);
        Path whole = dir.resolve("whole");
        assertNull(run(job(data, whole, 4, 30, false)).failure());
        Path split = dir.resolve("split");
        assertNull(run(job(data, split, 4, 10, false)).failure());
        assertNull(run(job(data, split, 2, 20, true)).failure());
        JobOutcome last = run(job(data, split, 3, 30, true));
        assertNull(last.failure(), "the 3-worker resume failed: " + last.failure());

        JsonNode summary = new ObjectMapper().readTree(split.resolve("summary.json").toFile());
        assertEquals(3, summary.get("workers").asInt(), summary.toString());
        assertEquals(30 * 12, summary.get("samples_consumed").asLong(), "30 steps of the global batch of 12");
        assertEquals(0, summary.get("samples_duplicated").asLong());
        assertEquals(0, summary.get("samples_lost").asLong());

        float[] a = CheckpointStore.load(new CheckpointStore(whole, 3).pathOf(30)).parameters();
        float[] b = CheckpointStore.load(new CheckpointStore(split, 3).pathOf(30)).parameters();
        float[] start = CheckpointStore.load(new CheckpointStore(whole, 3).pathOf(10)).parameters();
        double moved = 0;
        double difference = 0;
        for (int i = 0; i < a.length; i++) {
            moved = Math.max(moved, Math.abs((double) a[i] - start[i]));
            difference = Math.max(difference, Math.abs((double) a[i] - b[i]));
        }
        assertTrue(moved > 1e-2, "steps 11-30 trained: the parameters moved by " + moved);
        // Same samples, same weighting: only the summation order of the all-reduce differs (see
        // LocalAndClusterTrajectoryTest for the 1e-5 bound against one AdamW move of ~3e-3).
        assertTrue(difference <= 1e-5, "4 -> 2 -> 3 workers vs 4 throughout: max |difference| = " + difference);
    }
}
