package io.troupe.worker.run;

import static io.troupe.worker.run.TinyRun.metrics;
import static io.troupe.worker.run.TinyRun.settings;
import static io.troupe.worker.run.TinyRun.summary;
import static io.troupe.worker.run.TinyRun.train;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.troupe.worker.checkpoint.CheckpointStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Exact resume: a run stopped at step k and resumed to N logs, step for step, the same losses
 * as a run of N steps that was never interrupted, and ends with the same parameters, bit for bit
 * (one ORT thread, so every reduction runs in the same order).
 */
class TrainerResumeTest {

    private static final int N = 8;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "grad_accum={0}")
    @ValueSource(ints = {1, 2})
    void aRunStoppedAtKAndResumedLogsTheSameLossesAsAnUninterruptedRun(int gradAccum) throws Exception {
        Map<String, String> full = settings("grad_accum=" + gradAccum, "checkpoint_interval=2", "keep_checkpoints=10");
        Path reference = tmp.resolve("reference");
        train(reference, false, full);

        // Stopped at k = 4 (an evaluation step of the reference run too), then resumed to N.
        Path stopped = tmp.resolve("stopped");
        Map<String, String> firstHalf = settings("grad_accum=" + gradAccum, "checkpoint_interval=2",
                "keep_checkpoints=10", "max_iters=4");
        train(stopped, false, firstHalf);
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), steps(metrics(stopped)));
        assertSameFile(checkpoint(reference, 4), checkpoint(stopped, 4));
        train(stopped, true, full);

        assertSameCurve(metrics(reference), metrics(stopped));
        assertSameFile(checkpoint(reference, N), checkpoint(stopped, N));
        assertSameFile(reference.resolve("model.onnx"), stopped.resolve("model.onnx"));
        assertSameFile(reference.resolve("tokenizer.json"), stopped.resolve("tokenizer.json"));
        for (String key : List.of("steps", "final_train_loss", "final_val_loss", "best_val_loss", "params")) {
            assertEquals(summary(reference).get(key), summary(stopped).get(key), key);
        }
    }

    @ParameterizedTest(name = "grad_accum={0}")
    @ValueSource(ints = {1, 2})
    void aRunThatCrashedAfterItsLastCheckpointResumesOnTheSameCurve(int gradAccum) throws Exception {
        Map<String, String> full = settings("grad_accum=" + gradAccum, "checkpoint_interval=3", "keep_checkpoints=10");
        Path reference = tmp.resolve("reference");
        train(reference, false, full);

        // The crashed run had checkpointed step 6 (not an evaluation step), logged up to step 8 and
        // torn its last line; it must drop the lines after 6 and redo steps 7 and 8 identically.
        Path crashed = tmp.resolve("crashed");
        Files.createDirectories(crashed.resolve(CheckpointStore.DIRECTORY));
        Files.copy(checkpoint(reference, 3), checkpoint(crashed, 3));
        Files.copy(checkpoint(reference, 6), checkpoint(crashed, 6));
        Files.copy(reference.resolve(Trainer.METRICS), crashed.resolve(Trainer.METRICS));
        Files.writeString(crashed.resolve(Trainer.METRICS), "{\"step\":9,\"train_lo", StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);
        train(crashed, true, full);

        assertSameCurve(metrics(reference), metrics(crashed));
        assertSameFile(checkpoint(reference, N), checkpoint(crashed, N));
        assertSameFile(reference.resolve("model.onnx"), crashed.resolve("model.onnx"));
    }

    @ParameterizedTest(name = "grad_accum={0}")
    @ValueSource(ints = {1, 2})
    void resumeIsExactWithDropoutToo(int gradAccum) throws Exception {
        // ORT's Dropout kernels keep their generator inside the session; the resumed run's new
        // session must start them where the interrupted one left off.
        Map<String, String> full = settings("dropout=0.1", "grad_accum=" + gradAccum);
        Path reference = tmp.resolve("reference");
        train(reference, false, full);
        Path stopped = tmp.resolve("stopped");
        train(stopped, false, settings("dropout=0.1", "grad_accum=" + gradAccum, "max_iters=4"));
        train(stopped, true, full);
        assertSameCurve(metrics(reference), metrics(stopped));
        assertSameFile(reference.resolve("model.onnx"), stopped.resolve("model.onnx"));
    }

    @Test
    void theBestValidationLossSurvivesAResume() throws Exception {
        // A learning rate so high that the validation loss is lowest before training (step 0) and
        // rises after: the resumed run never evaluates step 0, so only the checkpoint can carry it.
        String[] unstable = {"learning_rate=1", "min_lr=1", "grad_clip=0", "eval_interval=2"};
        Path reference = tmp.resolve("reference");
        train(reference, false, settings(unstable));
        double best = summary(reference).get("best_val_loss").asDouble();
        assertTrue(best < summary(reference).get("final_val_loss").asDouble(), "the setup needs a rising val loss");

        Path stopped = tmp.resolve("stopped");
        String[] firstHalf = Arrays.copyOf(unstable, unstable.length + 1);
        firstHalf[unstable.length] = "max_iters=4";
        train(stopped, false, settings(firstHalf));
        train(stopped, true, settings(unstable));
        assertEquals(summary(reference).get("best_val_loss"), summary(stopped).get("best_val_loss"));
        assertEquals(summary(reference).get("final_val_loss"), summary(stopped).get("final_val_loss"));
    }

    private static Path checkpoint(Path run, long step) {
        return new CheckpointStore(run, 1).pathOf(step);
    }

    private static List<Long> steps(List<JsonNode> lines) {
        return lines.stream().map(l -> l.get("step").asLong()).toList();
    }

    /** Same steps, and per step the same train loss, learning rate and validation loss, bit for bit. */
    private static void assertSameCurve(List<JsonNode> expected, List<JsonNode> actual) {
        List<Long> allSteps = LongStream.rangeClosed(0, N).boxed().toList();
        assertEquals(allSteps, steps(expected), "the reference run logs every step once");
        assertEquals(allSteps, steps(actual), "the resumed run logs every step once, without duplicates");
        Set<Long> distinctLosses = new HashSet<>();
        for (int i = 0; i < expected.size(); i++) {
            JsonNode e = expected.get(i);
            JsonNode a = actual.get(i);
            long step = e.get("step").asLong();
            assertEquals(bits(e, "train_loss"), bits(a, "train_loss"),
                    () -> "train_loss at step " + step + ": " + e.get("train_loss") + " vs " + a.get("train_loss"));
            assertEquals(bits(e, "lr"), bits(a, "lr"), "lr at step " + step);
            assertEquals(e.has("val_loss"), a.has("val_loss"), "val_loss present at step " + step);
            if (e.has("val_loss")) {
                assertEquals(bits(e, "val_loss"), bits(a, "val_loss"),
                        () -> "val_loss at step " + step + ": " + e.get("val_loss") + " vs " + a.get("val_loss"));
            }
            distinctLosses.add(bits(e, "train_loss"));
        }
        // Not vacuous: the model trains, so the losses differ from step to step.
        assertTrue(distinctLosses.size() > N / 2, "losses barely change: " + expected);
        assertTrue(expected.get(N).get("train_loss").asDouble() < expected.get(1).get("train_loss").asDouble(),
                "the loss falls: " + expected);
    }

    private static long bits(JsonNode line, String key) {
        assertTrue(line.has(key) && line.get(key).isNumber(), line + " has a numeric " + key);
        return Double.doubleToRawLongBits(line.get(key).asDouble());
    }

    private static void assertSameFile(Path expected, Path actual) throws Exception {
        assertTrue(Files.isRegularFile(expected), expected + " exists");
        assertTrue(Files.isRegularFile(actual), actual + " exists");
        byte[] e = Files.readAllBytes(expected);
        byte[] a = Files.readAllBytes(actual);
        assertFalse(e.length == 0, expected + " is empty");
        assertArrayEquals(e, a, actual + " differs from " + expected);
    }
}
