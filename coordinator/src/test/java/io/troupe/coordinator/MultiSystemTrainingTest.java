package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.engine.Device;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A coordinator and 3 workers, each in its own ActorSystem in this JVM, train a tiny model. */
class MultiSystemTrainingTest {

    @TempDir
    Path dir;

    static Path corpus(Path dir) throws Exception {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            text.append("the quick brown fox jumps over the lazy dog ").append(i % 7).append('\n');
        }
        Path file = dir.resolve("corpus.txt");
        Files.writeString(file, text.toString());
        return file;
    }

    static JobSpec tinyJob(Path data, Path out, int workers, int steps) throws Exception {
        return tinyJob(data, out, workers, steps, Map.of());
    }

    /** A tiny job whose settings take {@code overrides} on top of the tiny ones. */
    static JobSpec tinyJob(Path data, Path out, int workers, int steps, Map<String, String> overrides) throws Exception {
        Map<String, String> tiny = new java.util.HashMap<>(Map.of("n_layer", "1", "n_head", "2", "n_embd", "16",
                "block_size", "16", "batch_size", "6", "max_iters", Integer.toString(steps), "eval_interval", "10",
                "eval_iters", "2", "log_interval", "1", "warmup_iters", "2"));
        tiny.putAll(overrides);
        TrainSettings settings = TrainSettings.load(null, tiny);
        TextCorpus corpus = TextCorpus.load(data);
        Files.createDirectories(out);
        return new JobSpec("test-job", settings, CharTokenizer.fromText(corpus.text()), data,
                JobSettings.sha256(corpus.text()), out, workers, "test-version", Duration.ofSeconds(60), 5,
                WireFormat.FP32);
    }

    @Test
    void coordinatorAndThreeWorkerSystemsTrainATinyModel() throws Exception {
        Path data = corpus(dir);
        Path out = dir.resolve("run");
        JobSpec job = tinyJob(data, out, 3, 20);
        CompletableFuture<Address> bound = new CompletableFuture<>();
        CompletableFuture<JobOutcome> outcome = CompletableFuture.supplyAsync(() -> {
            try {
                return ClusterNode.runCoordinator(job, "127.0.0.1", 0, TrainListener.SILENT, bound::complete);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Address coordinator = bound.get(30, TimeUnit.SECONDS);
        List<CompletableFuture<String>> workers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            workers.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return ClusterNode.runWorker(coordinator.getHost().get(), (Integer) coordinator.getPort().get(),
                            "127.0.0.1", new WorkerSettings(1, Device.cpu(), "test-version"), RingSettings.defaults(),
                            new ClusterNode.Timings(Duration.ofSeconds(60), 5, Duration.ofSeconds(30),
                                    Duration.ofSeconds(5), Duration.ofSeconds(30)), Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        JobOutcome result = outcome.get(120, TimeUnit.SECONDS);
        assertNull(result.failure(), "job failed: " + result.failure());
        for (CompletableFuture<String> w : workers) {
            assertNull(w.get(60, TimeUnit.SECONDS), "a worker stopped with an error");
        }

        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(3, summary.get("workers").asInt());
        assertEquals(20, summary.get("steps").asInt());
        assertTrue(summary.get("final_val_loss").asDouble() < Math.log(job.tokenizer().vocabSize()),
                "the model learned something: " + summary);
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(20, lines.size(), "one metrics line per step");
        double first = new ObjectMapper().readTree(lines.get(0)).get("train_loss").asDouble();
        double last = new ObjectMapper().readTree(lines.get(19)).get("train_loss").asDouble();
        assertTrue(last < first, "loss fell from " + first + " to " + last);
        assertTrue(Files.size(out.resolve("model.onnx")) > 0);
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        assertTrue(Files.list(out.resolve("checkpoints")).findAny().isPresent(), "rank 0 wrote checkpoints");
    }
}
