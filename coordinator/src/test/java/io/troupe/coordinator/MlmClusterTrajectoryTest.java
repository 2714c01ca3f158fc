package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.WordPieceTrainer;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.Device;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.engine.FlatBuffer;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.run.Trainer;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code arch = bert} on the distributed step path, as {@link LocalAndClusterTrajectoryTest}
 * proves it for a GPT: a one-worker cluster ends bit-identical to the local run, and two workers
 * (each masking its own rows, keyed by their sample numbers) stay within float rounding of it.
 */
class MlmClusterTrajectoryTest {
    private static final int STEPS = 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private JobSpec job(Path data, Path out, int workers) throws Exception {
        Map<String, String> s = new HashMap<>(Map.of("arch", "bert", "n_layer", "1", "n_head", "2", "n_embd", "16",
                "block_size", "16", "batch_size", "6", "max_iters", Integer.toString(STEPS), "eval_interval", "15",
                "eval_iters", "2", "log_interval", "5"));
        s.putAll(Map.of("grad_accum", "3", "learning_rate", "3e-3", "warmup_iters", "3", "lr_decay_iters",
                Integer.toString(STEPS)));
        TrainSettings settings = TrainSettings.load(null, s);
        TextCorpus corpus = TextCorpus.load(data);
        PieceCounts words = PieceCounts.bertWords();
        words.add(corpus.text());
        HfJsonTokenizer tokenizer = WordPieceTrainer.train(words, 60);
        Files.createDirectories(out);
        return new JobSpec("mlm-job", settings, tokenizer, data, JobSettings.sha256(corpus.text()), out, workers,
                "test-version", Duration.ofSeconds(60), 5, WireFormat.FP32);
    }

    private Checkpoint local(Path data) throws Exception {
        JobSpec spec = job(data, dir.resolve("local"), 1);
        TokenSplit split = TokenSplit.encode(TextCorpus.load(data), spec.tokenizer(), spec.settings().blockSize());
        new Trainer(spec.settings(), spec.tokenizer(), split, spec.outDir(), EngineOptions.cpu(1))
                .run(false, TrainListener.SILENT);
        return CheckpointStore.load(new CheckpointStore(spec.outDir(), 1).pathOf(STEPS));
    }

    private Checkpoint cluster(Path data, int workers) throws Exception {
        JobSpec spec = job(data, dir.resolve("cluster-" + workers), workers);
        JobOutcome outcome = ClusterNode.runEmbedded(spec, new WorkerSettings(1, Device.cpu(), "test-version"),
                RingSettings.defaults(), TrainListener.SILENT);
        assertNull(outcome.failure(), "the cluster run failed: " + outcome.failure());
        assertTrue(Files.isRegularFile(spec.outDir().resolve("model.onnx")), "the cluster exports the encoder");
        return CheckpointStore.load(new CheckpointStore(spec.outDir(), 1).pathOf(STEPS));
    }

    @Test
    void oneWorkerEqualsTheLocalRunAndTwoWorkersStayWithinRounding() throws Exception {
        Path data = MultiSystemTrainingTest.corpus(dir);
        Checkpoint local = local(data);
        Checkpoint one = cluster(data, 1);
        assertEquals(FlatBuffer.checksum(local.parameters()), FlatBuffer.checksum(one.parameters()),
                "1 worker vs local: max |difference| = " + maxDifference(local.parameters(), one.parameters()));
        float[] two = cluster(data, 2).parameters();
        double difference = maxDifference(local.parameters(), two);
        // Measured about 1e-7; a worker masking other positions or weighting its share by its own
        // masked count moves the weights by about lr = 3e-3 in a step.
        assertTrue(difference <= 1e-5, "2 workers vs local after " + STEPS + " steps: max |difference| = " + difference);

        // The masked-token accuracy reaches metrics.jsonl and summary.json through StepDone, at
        // every evaluation, as a local run reports it. The values are not compared step by step:
        // only the local run evaluates the initial model, which advances its val sampler, so its
        // later evaluations see other val batches than the cluster's (its val loss differs too).
        // CoordinatorProtocolTest proves the pooling over workers exactly.
        Map<Long, Double> localAcc = maskedAccuracies(dir.resolve("local"));
        assertEquals(List.of(0L, 15L, 30L), List.copyOf(localAcc.keySet()));
        assertEquals(localAcc.get((long) STEPS), finalAccuracy(dir.resolve("local")));
        for (int workers = 1; workers <= 2; workers++) {
            Path run = dir.resolve("cluster-" + workers);
            Map<Long, Double> acc = maskedAccuracies(run);
            assertEquals(List.of(15L, 30L), List.copyOf(acc.keySet()), workers + " workers");
            for (double a : acc.values()) {
                assertTrue(a >= 0 && a <= 1, workers + " workers' accuracy " + a);
            }
            assertEquals(acc.get((long) STEPS), finalAccuracy(run), workers + " workers: the summary's is the last");
        }
    }

    /** Step → val_masked_accuracy of each evaluation line; every line with a val loss must carry one. */
    private static Map<Long, Double> maskedAccuracies(Path run) throws Exception {
        Map<Long, Double> accuracies = new TreeMap<>();
        for (String text : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode line = JSON.readTree(text);
            if (line.has("val_loss")) {
                assertTrue(line.has("val_masked_accuracy"), run + ": an evaluation without the accuracy: " + line);
                accuracies.put(line.get("step").asLong(), line.get("val_masked_accuracy").asDouble());
            }
        }
        return accuracies;
    }

    private static double finalAccuracy(Path run) throws Exception {
        JsonNode summary = JSON.readTree(run.resolve("summary.json").toFile());
        assertTrue(summary.has("final_val_masked_accuracy"), run + "/summary.json: " + summary);
        return summary.get("final_val_masked_accuracy").asDouble();
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }
}
