package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.assertSameFiles;
import static io.troupe.ops.cli.CliRun.snapshot;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe train}: a tiny run end to end, resume and force, and every kind of bad input. */
class TrainCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    /** A finished 4-step run, shared by the tests that only read it. */
    private static Path finished;
    private static Path corpus;

    @TempDir
    Path tmp;

    @BeforeAll
    static void trainOnce() throws Exception {
        corpus = shared.resolve("corpus.txt");
        Files.writeString(corpus, TEXT);
        finished = shared.resolve("run");
        CliRun run = trainTiny(corpus, finished, 4).assertOk();
        assertEquals("", run.err());
    }

    @Test
    void trainingWritesTheRunAndSaysWhereTheModelIs() throws Exception {
        for (String file : List.of("metrics.jsonl", "summary.json", "model.onnx", "decoder.onnx",
                "decoder_step.onnx", "tokenizer.json", "checkpoints/ckpt-4.bin")) {
            assertTrue(Files.isRegularFile(finished.resolve(file)), file);
        }
        JsonNode summary = JSON.readTree(finished.resolve("summary.json").toFile());
        assertEquals(4, summary.get("steps").asInt());
        assertEquals(16, summary.get("config").get("n_embd").asInt());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), steps(finished));
    }

    @Test
    void trainingPrintsProgressAndASummaryLine() throws Exception {
        Path out = tmp.resolve("run");
        CliRun run = trainTiny(corpus, out, 2).assertOk();
        assertEquals("", run.err());
        List<String> lines = run.out().lines().toList();
        assertTrue(lines.get(0).matches("training \\S+ parameters, steps 1\\.\\.2"), run.toString());
        assertTrue(run.out().contains("step 0: train loss "), run.toString());
        assertTrue(run.out().contains("step 2/2  loss "), run.toString());
        assertTrue(lines.stream().anyMatch(l -> l.matches("done: 2 steps, train loss \\S+, val loss \\S+ \\(best \\S+\\), .*")),
                run.toString());
        assertEquals("model: " + out.resolve("model.onnx"), lines.get(lines.size() - 1));
    }

    @Test
    void resumeContinuesARunAndForceReplacesIt() throws Exception {
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 2).assertOk();
        trainTiny(corpus, out, 4, "--resume").assertOk();
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), steps(out));
        // Same steps as the uninterrupted shared run, so the same model.
        assertEquals(Files.readString(finished.resolve("metrics.jsonl")).lines().map(TrainCommandTest::withoutSpeed).toList(),
                Files.readString(out.resolve("metrics.jsonl")).lines().map(TrainCommandTest::withoutSpeed).toList());
        assertArrayEquals(Files.readAllBytes(finished.resolve("model.onnx")), Files.readAllBytes(out.resolve("model.onnx")),
                "the resumed run ends with the same model");

        trainTiny(corpus, out, 1, "--force").assertOk();
        assertEquals(List.of(0L, 1L), steps(out));
        assertEquals(List.of("ckpt-1.bin"), fileNames(out.resolve("checkpoints")));
    }

    @Test
    void aDataParallelRunResumesWhereItsCheckpointLeftOff() throws Exception {
        Path whole = tmp.resolve("whole");
        trainTiny(corpus, whole, 6, "--workers", "2").assertOk();
        Path out = tmp.resolve("resumed");
        trainTiny(corpus, out, 4, "--workers", "2").assertOk();
        trainTiny(corpus, out, 6, "--workers", "2", "--resume").assertOk();
        com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("summary.json").toFile());
        assertEquals(6, summary.get("steps").asInt());
        assertEquals(24, summary.get("samples_consumed").asLong(), "6 steps of batch_size 4, exactly once");
        assertEquals(0, summary.get("samples_duplicated").asLong());
        assertEquals(0, summary.get("samples_lost").asLong());
        // Same samples, same state: steps 5 and 6 lose exactly what the uninterrupted run's did.
        List<String> resumed = Files.readAllLines(out.resolve("metrics.jsonl"));
        List<String> uninterrupted = Files.readAllLines(whole.resolve("metrics.jsonl"));
        assertEquals(6, resumed.size(), String.join("\n", resumed));
        for (int i = 4; i < 6; i++) {
            assertEquals(trainLoss(uninterrupted.get(i)), trainLoss(resumed.get(i)), 1e-6, "step " + (i + 1));
        }
    }

    private static double trainLoss(String metricsLine) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(metricsLine).get("train_loss").asDouble();
    }

    // ---- bad input: one line on stderr, a non-zero exit, no stack trace, nothing changed ----

    @Test
    void aMissingEmptyBinaryOrNonUtf8DataFileIsRejected() throws Exception {
        Path out = tmp.resolve("run");
        trainTiny(tmp.resolve("missing.txt"), out, 1).assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("does not exist");
        Path empty = Files.createFile(tmp.resolve("empty.txt"));
        trainTiny(empty, out, 1).assertOneLineError("is empty");
        Path binary = Files.write(tmp.resolve("model.bin"), new byte[] {0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x7f, 0x1});
        trainTiny(binary, out, 1).assertOneLineError("NUL byte");
        Path latin1 = Files.write(tmp.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xe9, '\n'});
        trainTiny(latin1, out, 1).assertOneLineError("not valid UTF-8");
        trainTiny(tmp, out, 1).assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("--data " + tmp + " is a folder, not a"
                + " prepared dataset; run troupe prepare --input " + tmp + " --out DATASET first");
        assertFalse(Files.exists(out), "nothing was created for a run that could not start");
    }

    @Test
    void aCorpusShorterThanABlockIsRejected() throws Exception {
        Path out = tmp.resolve("run");
        Path tiny = Files.writeString(tmp.resolve("tiny.txt"), "to be or not");
        trainTiny(tiny, out, 1).assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("block_size 16 needs at least 17");
        // Long enough for the training split but not for the 10% validation split.
        Path short100 = Files.writeString(tmp.resolve("short.txt"), TEXT.substring(0, 100));
        trainTiny(short100, out, 1).assertOneLineError("validation split has 10 of 100 tokens");
        assertFalse(Files.exists(out));
    }

    @Test
    void unknownPresetsKeysAndOutOfRangeValuesAreRejected() {
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 1, "--preset", "gpt-4").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("unknown preset 'gpt-4'");
        trainTiny(corpus, out, 1, "n_layers=2").assertOneLineError("unknown setting 'n_layers'");
        trainTiny(corpus, out, 1, "n_layer").assertOneLineError("'n_layer' is not a key=value setting");
        trainTiny(corpus, out, 1, "n_layer=0").assertOneLineError("setting n_layer = 0 is out of range");
        trainTiny(corpus, out, 1, "learning_rate=-3e-4").assertOneLineError("setting learning_rate = -3.0E-4 is out of range");
        trainTiny(corpus, out, 1, "n_layer=1.5").assertOneLineError("setting n_layer must be an integer, got '1.5'");
        trainTiny(corpus, out, 1, "n_embd=15").assertOneLineError("n_embd (15) must be divisible by n_head (2)");
        trainTiny(corpus, out, 0).assertOneLineError("--steps must be >= 1, got 0");
        trainTiny(corpus, out, 1, "--device", "gpu").assertOneLineError("gpu");
        troupe("train", "--data", corpus, "--out", out, "--threads", "0").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--threads must be at least 1, got 0");
        troupe("train", "--data", corpus, "--out", out, "--steps", "many").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("'many' is not a long");
        troupe("train", "--out", out).assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("Missing required option: '--data=PATH'");
        trainTiny(corpus, out, 1, "--workers", "0").assertOneLineError("--workers must be >= 1, got 0");
        trainTiny(tmp, out, 1, "--workers", "2").assertOneLineError("is a folder, not a prepared dataset");
        trainTiny(corpus, out, 1, "--workers", "2", "--wire", "fp8").assertOneLineError("--wire unknown wire format 'fp8'");
        assertFalse(Files.exists(out));
    }

    @Test
    void aDirectoryWithAnotherRunIsLeftAloneWithoutResumeOrForce() throws Exception {
        Map<String, byte[]> before = snapshot(finished);
        trainTiny(corpus, finished, 2).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("already holds a training run; pass --resume to continue it or --force to replace it");
        trainTiny(corpus, finished, 2, "--resume", "--force").assertOneLineError("contradict");
        // Resuming with another model shape: the checkpoint's config is named, nothing is touched.
        trainTiny(corpus, finished, 6, "--resume", "n_embd=32").assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("n_embd: 16 in the checkpoint, 32 now");
        // Resuming a 4-step run with fewer steps: the model cannot be un-trained.
        trainTiny(corpus, finished, 2, "--resume").assertOneLineError("is at step 4, past max_iters = 2");
        // Resuming on another corpus: a bigger vocabulary, or one of the same size.
        Path bigger = Files.writeString(tmp.resolve("bigger.txt"), TEXT + "Zounds!\n");
        trainTiny(bigger, finished, 6, "--resume").assertOneLineError("vocab_size");
        Path shouted = Files.writeString(tmp.resolve("shouted.txt"), TEXT.toUpperCase());
        trainTiny(shouted, finished, 6, "--resume").assertOneLineError("another tokenizer");
        assertSameFiles(before, snapshot(finished));
    }

    @Test
    void resumeNeedsACheckpoint() throws Exception {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        trainTiny(corpus, empty, 2, "--resume").assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("nothing to resume");
        assertEquals(List.of(), fileNames(empty));
        trainTiny(corpus, tmp.resolve("absent"), 2, "--resume").assertOneLineError("nothing to resume");
        assertFalse(Files.exists(tmp.resolve("absent")));
    }

    @Test
    void resumeRefusesARunThatDiedBeforeItsFirstCheckpoint() throws Exception {
        // The run logged a few steps and was killed while writing its first checkpoint: only a
        // temporary file is left. Resuming it would start from scratch and log steps 0.. again.
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 2).assertOk();
        Files.delete(out.resolve("checkpoints/ckpt-2.bin"));
        Files.writeString(out.resolve("checkpoints/.ckpt-2.bin.123456.tmp"), "half a checkpoint");
        Map<String, byte[]> before = snapshot(out);
        trainTiny(corpus, out, 2, "--resume").assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("nothing to resume: " + out + " has no checkpoints; pass --force instead");
        assertSameFiles(before, snapshot(out));
    }

    @Test
    void aDamagedOnlyCheckpointIsReportedAndLeftAlone() throws Exception {
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 2).assertOk();
        Path checkpoint = out.resolve("checkpoints/ckpt-2.bin");
        byte[] bytes = Files.readAllBytes(checkpoint);
        Files.write(checkpoint, Arrays.copyOf(bytes, bytes.length - 100));
        Map<String, byte[]> before = snapshot(out);
        trainTiny(corpus, out, 4, "--resume").assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("truncated or corrupt");
        assertSameFiles(before, snapshot(out));
    }

    @Test
    void anOutputPathThatIsAFileIsRejected() throws Exception {
        Path file = Files.writeString(tmp.resolve("notes.txt"), "keep me");
        trainTiny(corpus, file, 1).assertOneLineError("is a file, not a directory");
        assertEquals("keep me", Files.readString(file));
    }

    private static List<Long> steps(Path run) throws Exception {
        List<Long> steps = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            steps.add(JSON.readTree(line).get("step").asLong());
        }
        return steps;
    }

    private static String withoutSpeed(String line) {
        try {
            ObjectNode node = (ObjectNode) JSON.readTree(line);
            node.remove(List.of("tokens_per_s", "mfu", "time", "elapsed_s"));
            return node.toString();
        } catch (Exception e) {
            throw new AssertionError(line, e);
        }
    }

    private static List<String> fileNames(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
