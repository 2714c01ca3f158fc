package io.troupe.worker.run;

import static io.troupe.worker.run.TinyRun.metrics;
import static io.troupe.worker.run.TinyRun.settings;
import static io.troupe.worker.run.TinyRun.snapshot;
import static io.troupe.worker.run.TinyRun.train;
import static io.troupe.worker.run.TinyRun.trainer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resuming refuses checkpoints it cannot continue exactly (another config, another vocabulary,
 * a damaged file) with a message that says why, and leaves every file of the run as it was.
 */
class TrainerCheckpointTest {

    @TempDir
    Path run;

    /** A finished 4-step run: metrics, summary, model, tokenizer and checkpoints/ckpt-4.bin. */
    private Path trainFourSteps() throws Exception {
        train(run, false, settings("max_iters=4"));
        Path checkpoint = new CheckpointStore(run, 1).pathOf(4);
        assertEquals(List.of(checkpoint), new CheckpointStore(run, 1).list(), "exactly one checkpoint");
        return checkpoint;
    }

    private CheckpointException resumeFails(Map<String, String> overrides) {
        return assertThrows(CheckpointException.class, () -> train(run, true, overrides));
    }

    @Test
    void resumingWithAnotherModelShapeNamesTheSetting() throws Exception {
        trainFourSteps();
        Map<String, byte[]> before = snapshot(run);

        CheckpointException e = resumeFails(settings("n_embd=32"));
        assertTrue(e.getMessage().contains("n_embd: 16 in the checkpoint, 32 now"), e.getMessage());
        assertTrue(e.getMessage().contains("ckpt-4.bin"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertSameFiles(before, snapshot(run));
    }

    @Test
    void resumingWithAnotherTrajectoryNamesEverySettingThatChanged() throws Exception {
        trainFourSteps();
        Map<String, byte[]> before = snapshot(run);

        CheckpointException e = resumeFails(settings("seed=8", "learning_rate=3e-3"));
        assertTrue(e.getMessage().contains("seed: 7 in the checkpoint, 8 now"), e.getMessage());
        assertTrue(e.getMessage().contains("learning_rate: 0.01 in the checkpoint, 0.003 now"), e.getMessage());
        assertSameFiles(before, snapshot(run));
    }

    @Test
    void runLengthAndLoggingMayChangeOnResume() throws Exception {
        trainFourSteps();
        train(run, true, settings("max_iters=6", "log_interval=2", "eval_interval=3", "keep_checkpoints=1",
                "checkpoint_interval=1", "eval_iters=1"));
        assertEquals(6, TinyRun.summary(run).get("steps").asLong());
    }

    @Test
    void resumingACheckpointPastMaxItersIsRefused() throws Exception {
        trainFourSteps();
        Map<String, byte[]> before = snapshot(run);

        CheckpointException e = resumeFails(settings("max_iters=2"));
        assertTrue(e.getMessage().contains("step 4"), e.getMessage());
        assertTrue(e.getMessage().contains("max_iters = 2"), e.getMessage());
        assertSameFiles(before, snapshot(run));
    }

    @Test
    void resumingWithAnotherVocabularyOfTheSameSizeIsRefused() throws Exception {
        trainFourSteps();
        Map<String, byte[]> before = snapshot(run);
        String otherText = TinyRun.TEXT.replace('y', 'z');
        assertEquals(TinyRun.TEXT.chars().distinct().count(), otherText.chars().distinct().count());

        CheckpointException e = assertThrows(CheckpointException.class,
                () -> trainer(run, otherText, settings()).run(true, TrainListener.SILENT));
        assertTrue(e.getMessage().contains("another tokenizer"), e.getMessage());
        assertSameFiles(before, snapshot(run));
    }

    @Test
    void aTruncatedOnlyCheckpointIsRejectedAndLeftAlone() throws Exception {
        Path checkpoint = trainFourSteps();
        byte[] whole = Files.readAllBytes(checkpoint);
        Files.write(checkpoint, Arrays.copyOf(whole, whole.length / 2));
        Map<String, byte[]> before = snapshot(run);

        CheckpointException e = resumeFails(settings());
        assertTrue(e.getMessage().contains("none of the 1 checkpoints"), e.getMessage());
        assertTrue(e.getMessage().contains("ckpt-4.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("bytes where its header promises"), e.getMessage());
        assertSameFiles(before, snapshot(run));
    }

    @Test
    void aCorruptOnlyCheckpointIsRejectedAndLeftAlone() throws Exception {
        Path checkpoint = trainFourSteps();
        byte[] bytes = Files.readAllBytes(checkpoint);
        bytes[bytes.length / 2] ^= 0x10; // a flipped bit in the parameters or moments
        Files.write(checkpoint, bytes);
        Map<String, byte[]> before = snapshot(run);

        CheckpointException e = resumeFails(settings());
        assertTrue(e.getMessage().contains("ckpt-4.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        assertSameFiles(before, snapshot(run));
    }

    @Test
    void aFileThatIsNotACheckpointIsRejectedAndLeftAlone() throws Exception {
        Path checkpoint = trainFourSteps();
        Files.writeString(checkpoint, "these are not the bytes you are looking for, but there are many of them "
                + "so that the file is longer than a checkpoint header");
        Map<String, byte[]> before = snapshot(run);

        CheckpointException e = resumeFails(settings());
        assertTrue(e.getMessage().contains("is not a Troupe checkpoint"), e.getMessage());
        assertSameFiles(before, snapshot(run));
    }

    @Test
    void aCorruptNewestCheckpointFallsBackToTheOlderOneOnTheSameCurve() throws Exception {
        Map<String, String> full = settings("checkpoint_interval=2", "keep_checkpoints=10");
        Path reference = run.resolve("reference");
        train(reference, false, full);

        Path damaged = run.resolve("damaged");
        CheckpointStore store = new CheckpointStore(damaged, 10);
        Files.createDirectories(store.directory());
        Files.copy(new CheckpointStore(reference, 1).pathOf(2), store.pathOf(2));
        byte[] newest = Files.readAllBytes(new CheckpointStore(reference, 1).pathOf(4));
        Files.write(store.pathOf(4), Arrays.copyOf(newest, newest.length - 7));
        Files.copy(reference.resolve(Trainer.METRICS), damaged.resolve(Trainer.METRICS));

        train(damaged, true, full);
        List<JsonNode> expected = metrics(reference);
        List<JsonNode> actual = metrics(damaged);
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).get("step"), actual.get(i).get("step"));
            assertEquals(expected.get(i).get("train_loss"), actual.get(i).get("train_loss"),
                    "train_loss at step " + expected.get(i).get("step"));
            assertEquals(expected.get(i).get("val_loss"), actual.get(i).get("val_loss"));
        }
        // The damaged step-4 checkpoint was replaced by a good one when the run got there again.
        assertArrayEquals(newest, Files.readAllBytes(store.pathOf(4)));
        assertArrayEquals(Files.readAllBytes(reference.resolve("model.onnx")),
                Files.readAllBytes(damaged.resolve("model.onnx")));
    }

    private static void assertSameFiles(Map<String, byte[]> before, Map<String, byte[]> after) {
        assertEquals(before.keySet(), after.keySet(), "files in the run directory");
        before.forEach((name, bytes) -> assertArrayEquals(bytes, after.get(name), name + " changed"));
    }
}
