package io.troupe.worker.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run asked to stop (Ctrl-C) checkpoints where it is, and resuming continues the same curve. */
class TrainerStopTest {

    @TempDir
    Path dir;

    @Test
    void aStoppedRunCheckpointsMidIntervalAndResumesOnTheSameCurve() throws Exception {
        Map<String, String> settings = TinyRun.settings();
        Path whole = dir.resolve("whole");
        TinyRun.train(whole, false, settings);

        Path stopped = dir.resolve("stopped");
        Trainer trainer = TinyRun.trainer(stopped, settings);
        trainer.run(false, new TrainListener() {
            @Override
            public void onStep(StepStats stats) {
                if (stats.step() == 3) {
                    trainer.requestStop();
                }
            }
        });
        // Step 3 is not a checkpoint step (eval_interval 4): the stop saved one anyway.
        assertEquals(3, trainer.stoppedAt());
        assertTrue(Files.exists(stopped.resolve("checkpoints/ckpt-3.bin")));
        assertFalse(Files.exists(stopped.resolve(Trainer.SUMMARY)), "a stopped run does not claim to be finished");
        assertFalse(Files.exists(stopped.resolve("model.onnx")));

        TinyRun.train(stopped, true, settings);
        List<JsonNode> expected = TinyRun.metrics(whole);
        List<JsonNode> actual = TinyRun.metrics(stopped);
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).get("train_loss").asDouble(), actual.get(i).get("train_loss").asDouble(), 0.0,
                    "train_loss at step " + expected.get(i).get("step"));
            assertEquals(expected.get(i).path("val_loss").asDouble(), actual.get(i).path("val_loss").asDouble(), 0.0,
                    "val_loss at step " + expected.get(i).get("step"));
        }
        assertEquals(-1, TinyRun.trainer(stopped, settings).stoppedAt());
    }
}
