package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.TINY;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.ops.inference.ExportedClassifier;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.FlatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code finetune --workers N}: fine-tuning on the cluster's step path ends where the local run
 * ends. Dropout is off (a worker's dropout masks are its own), so the two runs differ only in
 * float rounding: the local run sums a step's rows in one engine, two workers each sum half and
 * the ring averages the halves.
 */
class FinetuneWorkersTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The recipe: no dropout anywhere, a rate at which 6 steps move the model well beyond rounding. */
    private static final List<String> RECIPE = List.of("dropout=0", "learning_rate=1e-2", "min_lr=1e-3");

    @TempDir
    static Path shared;
    private static Path pretrained;
    private static Path labelled;
    private static List<String> texts;

    @TempDir
    Path tmp;

    @BeforeAll
    static void pretrainOnce() throws Exception {
        Path corpus = shared.resolve("corpus.txt");
        Files.writeString(corpus, TEXT);
        pretrained = shared.resolve("pretrained");
        trainTiny(corpus, pretrained, 4).assertOk();
        labelled = shared.resolve("labelled.tsv");
        String[] words = {"the", "king", "queen", "shall", "not", "go", "to", "war", "with", "thee", "my", "lord"};
        Random r = new Random(7);
        StringBuilder s = new StringBuilder("text\tlabel\n");
        texts = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            StringBuilder line = new StringBuilder();
            for (int w = 0; w < 1 + r.nextInt(4); w++) {
                line.append(words[r.nextInt(words.length)]).append(' ');
            }
            line.append(i % 2 == 0 ? "love" : "war");
            texts.add(line.toString());
            s.append(line).append('\t').append(i % 2 == 0 ? "pos" : "neg").append('\n');
        }
        Files.writeString(labelled, s.toString());
    }

    private static CliRun classify(Path out, int steps, Object... extra) {
        List<Object> args = new ArrayList<>(List.of("finetune", "--from", pretrained, "--task", "classify", "--data",
                labelled, "--out", out, "--steps", steps, "--threads", 2));
        args.addAll(List.of(extra));
        args.addAll(TINY);
        args.addAll(RECIPE);
        return troupe(args.toArray());
    }

    private static float[][] probabilities(Path model) throws Exception {
        try (ExportedClassifier c = ExportedClassifier.open(model, 1)) {
            return c.probabilities(texts);
        }
    }

    private static double maxDifference(float[][] a, float[][] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            for (int k = 0; k < a[i].length; k++) {
                max = Math.max(max, Math.abs(a[i][k] - b[i][k]));
            }
        }
        return max;
    }

    private static double maxDifference(float[] a, float[] b) {
        assertEquals(a.length, b.length, "parameter count");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /**
     * Two workers end with the local classifier's probabilities to 1e-5 on every text, while one
     * step less moves them by over 1e-3: a worker that trained on other examples, padded or
     * weighted them otherwise fails at once (feeding every worker the next sample instead gave
     * a difference of 0.19).
     */
    @Test
    void twoWorkersFineTuneTheSameClassifierAsTheLocalRun() throws Exception {
        Path local = tmp.resolve("local");
        Path cluster = tmp.resolve("cluster");
        Path shorter = tmp.resolve("shorter");
        classify(local, 6).assertOk();
        classify(shorter, 5).assertOk();
        CliRun run = classify(cluster, 6, "--workers", 2).assertOk();
        assertTrue(run.out().contains("validation ("), run.toString());
        float[][] expected = probabilities(local);
        double difference = maxDifference(expected, probabilities(cluster));
        double oneStep = maxDifference(expected, probabilities(shorter));
        System.out.printf("classify: max |local - 2 workers| = %.3g, one step less moves by %.3g%n", difference, oneStep);
        assertTrue(difference < 1e-5, "max |local - 2 workers| = " + difference);
        assertTrue(oneStep > 100 * 1e-5, "one step moves the probabilities by only " + oneStep);
        JsonNode a = JSON.readTree(local.resolve("summary.json").toFile());
        JsonNode b = JSON.readTree(cluster.resolve("summary.json").toFile());
        assertEquals(a.get("val_accuracy").asDouble(), b.get("val_accuracy").asDouble());
        assertEquals(a.get("trainable_parameters").asLong(), b.get("trainable_parameters").asLong());
        assertEquals(2, b.get("workers").asInt());
        assertEquals(List.of("neg", "pos"), List.of(b.get("labels").get(0).asText(), b.get("labels").get(1).asText()));
        assertTrue(Files.isRegularFile(cluster.resolve("labels.json")));
        // The cluster checkpointed the trainable part, as a pretraining job does.
        assertTrue(Files.isRegularFile(cluster.resolve("checkpoints").resolve("ckpt-6.bin")));
    }

    /**
     * {@code finetune --bind HOST:PORT --workers 2} coordinates worker processes that join from
     * outside (here two worker nodes in this JVM, as {@code troupe worker --join} runs them): the
     * classifier is the local run's.
     */
    @Test
    void aBoundCoordinatorFineTunesOnWorkersThatJoinIt() throws Exception {
        Path local = tmp.resolve("local");
        Path cluster = tmp.resolve("cluster");
        classify(local, 6).assertOk();
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        List<Object> args = new ArrayList<>(List.of("finetune", "--from", pretrained, "--task", "classify", "--data",
                labelled, "--out", cluster, "--steps", 6, "--workers", 2, "--bind", "127.0.0.1:" + port));
        args.addAll(TINY);
        args.addAll(RECIPE);
        java.util.concurrent.CompletableFuture<CliRun> coordinator =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> troupe(args.toArray()));
        List<java.util.concurrent.CompletableFuture<String>> workers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            workers.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return io.troupe.coordinator.ClusterNode.runWorker("127.0.0.1", port, "127.0.0.1",
                            new io.troupe.worker.session.WorkerSettings(1, io.troupe.worker.engine.Device.cpu(),
                                    TroupeVersion.current()), io.troupe.worker.allreduce.RingSettings.defaults(),
                            new io.troupe.coordinator.ClusterNode.Timings(java.time.Duration.ofSeconds(60), 5,
                                    java.time.Duration.ofSeconds(30), java.time.Duration.ofSeconds(5),
                                    java.time.Duration.ofSeconds(30)), java.time.Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        CliRun run = coordinator.get(300, java.util.concurrent.TimeUnit.SECONDS).assertOk();
        assertTrue(run.out().contains("troupe worker --join 127.0.0.1:" + port), run.toString());
        for (var w : workers) {
            assertEquals(null, w.get(60, java.util.concurrent.TimeUnit.SECONDS), "a worker stopped with an error");
        }
        double difference = maxDifference(probabilities(local), probabilities(cluster));
        System.out.printf("classify, --bind: max |local - 2 joined workers| = %.3g%n", difference);
        assertTrue(difference < 1e-5, "max |local - 2 joined workers| = " + difference);
        classify(tmp.resolve("x"), 2, "--bind", "127.0.0.1:0").assertOneLineError("pass --workers N").assertExit(2);
        classify(tmp.resolve("x"), 2, "--workers", 2, "--insecure").assertOneLineError("--bind").assertExit(2);
        List<Object> open = new ArrayList<>(List.of("finetune", "--from", pretrained, "--task", "classify", "--data",
                labelled, "--out", tmp.resolve("x"), "--workers", 2, "--bind", "0.0.0.0:0"));
        open.addAll(TINY);
        troupe(open.toArray()).assertOneLineError("not a loopback").assertExit(2);
        classify(tmp.resolve("x"), 2, "--workers", 2, "--bind", "127.0.0.1:0").assertOneLineError("--threads")
                .assertExit(2);
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    /** LoRA: only the adapters and the head train and travel; the merged export matches the local one. */
    @Test
    void twoWorkersTrainLoraAdaptersAsTheLocalRunDoes() throws Exception {
        Path local = tmp.resolve("local");
        Path cluster = tmp.resolve("cluster");
        Object[] lora = {"--lora-rank", 2, "--lora-dropout", 0};
        classify(local, 6, lora).assertOk();
        classify(cluster, 6, concat(lora, "--workers", 2)).assertOk();
        double difference = maxDifference(probabilities(local), probabilities(cluster));
        System.out.printf("LoRA classify: max |local - 2 workers| = %.3g%n", difference);
        assertTrue(difference < 1e-5, "max |local - 2 workers| = " + difference);
        assertTrue(Files.isRegularFile(cluster.resolve("adapter.safetensors")));
        Checkpoint c = CheckpointStore.load(new CheckpointStore(cluster, 3).pathOf(6));
        JsonNode summary = JSON.readTree(cluster.resolve("summary.json").toFile());
        assertEquals(summary.get("trainable_parameters").asLong(), c.parameters().length,
                "the checkpoint (and the all-reduce) hold only what trains");
        assertTrue(summary.get("trainable_parameters").asLong() < summary.get("total_parameters").asLong() / 4);
    }

    private static CliRun lm(Path corpus, Path out, int steps, Object... extra) {
        List<Object> args = new ArrayList<>(List.of("finetune", "--from", pretrained, "--data", corpus, "--out", out,
                "--freeze", "embeddings", "--steps", steps, "--threads", 2));
        args.addAll(List.of(extra));
        args.addAll(TINY);
        args.addAll(RECIPE);
        return troupe(args.toArray());
    }

    /**
     * --task lm on two workers ends at the local run's parameters (frozen embeddings: only the
     * blocks train and are all-reduced), and a two-worker run stopped at step 2 and resumed ends
     * at the uninterrupted one's parameters, bit for bit.
     */
    @Test
    void languageModelFineTuningOnTwoWorkersMatchesLocalAndResumesExactly() throws Exception {
        Path corpus = tmp.resolve("new.txt");
        Files.writeString(corpus, TEXT.substring(1000) + TEXT.substring(0, 1000));
        Path local = tmp.resolve("local");
        Path cluster = tmp.resolve("cluster");
        Path resumed = tmp.resolve("resumed");
        lm(corpus, local, 4).assertOk();
        lm(corpus, cluster, 4, "--workers", 2).assertOk();
        lm(corpus, resumed, 2, "--workers", 2).assertOk();
        lm(corpus, resumed, 4, "--workers", 2, "--resume").assertOk();
        Checkpoint a = CheckpointStore.load(new CheckpointStore(local, 3).pathOf(4));
        Checkpoint b = CheckpointStore.load(new CheckpointStore(cluster, 3).pathOf(4));
        Checkpoint c = CheckpointStore.load(new CheckpointStore(resumed, 3).pathOf(4));
        double difference = maxDifference(a.parameters(), b.parameters());
        System.out.printf("lm: max |local - 2 workers| = %.3g over %d parameters%n", difference, a.parameters().length);
        assertTrue(difference < 1e-5, "max |local - 2 workers| = " + difference);
        assertEquals(FlatBuffer.checksum(b.parameters()), FlatBuffer.checksum(c.parameters()),
                "resumed vs uninterrupted: max difference " + maxDifference(b.parameters(), c.parameters()));
        JsonNode summary = JSON.readTree(cluster.resolve("summary.json").toFile());
        assertEquals("lm", summary.get("task").asText());
        assertEquals(summary.get("trainable_parameters").asLong(), b.parameters().length);
        assertTrue(Files.isRegularFile(cluster.resolve("model.onnx")));
        troupe("generate", "--model", cluster, "--tokens", 3, "--prompt", "the").assertOk();
    }

    @Test
    void optionsThatCannotRunOnWorkersGetOneLineErrorsAndLeaveNothingBehind() throws Exception {
        Path out = tmp.resolve("out");
        classify(out, 2, "--workers", 0).assertExit(2);
        classify(out, 2, "--workers", 2, "--folds", 3).assertOneLineError("--folds applies to a local classifier")
                .assertExit(2);
        classify(out, 2, "--workers", 2, "--early-stop").assertOneLineError("--early-stop applies").assertExit(2);
        classify(out, 2, "--workers", 2, "--lora-rank", 0).assertExit(2);
        classify(out, 2, "--workers", 2, "--freeze", 5).assertOneLineError("cannot freeze 5 blocks").assertExit(2);
        assertFalse(Files.exists(out), "no refused command created the run directory");
    }

    private static Object[] concat(Object[] a, Object... b) {
        Object[] all = new Object[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
