package io.troupe.worker.run;

import io.troupe.worker.train.LearningRateSchedule;
import io.troupe.worker.train.TrainSettings;
import static io.troupe.worker.run.TinyRun.metrics;
import static io.troupe.worker.run.TinyRun.settings;
import static io.troupe.worker.run.TinyRun.trainer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.metrics.ModelFlops;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a finished run leaves in its directory: summary.json, metrics.jsonl, the model and tokenizer. */
class TrainerOutputTest {

    @TempDir
    Path run;

    @Test
    void summaryAndMetricsHoldWhatTheRunDid() throws Exception {
        Map<String, String> overrides = settings("max_iters=8", "eval_interval=4", "log_interval=3");
        Trainer trainer = trainer(run, overrides);
        List<double[]> evals = new ArrayList<>();
        List<TrainListener.StepStats> steps = new ArrayList<>();
        TrainSummary returned = trainer.run(false, new TrainListener() {
            @Override
            public void onStep(StepStats stats) {
                steps.add(stats);
            }

            @Override
            public void onEval(long step, double trainLoss, double valLoss) {
                evals.add(new double[] {step, trainLoss, valLoss});
            }
        });
        assertEquals(8, steps.size());
        assertEquals(List.of(0.0, 4.0, 8.0), evals.stream().map(e -> e[0]).toList());

        // metrics.jsonl: the first evaluation, every log_interval-th step, and every evaluation step.
        List<JsonNode> lines = metrics(run);
        assertEquals(List.of(0L, 3L, 4L, 6L, 8L), lines.stream().map(l -> l.get("step").asLong()).toList());
        LearningRateSchedule schedule = TrainSettings.load(null, overrides).schedule();
        for (JsonNode line : lines) {
            long step = line.get("step").asLong();
            boolean evaluated = step % 4 == 0;
            List<String> expectedKeys = new ArrayList<>(List.of("step", "time", "elapsed_s", "train_loss", "lr",
                    "tokens_per_s"));
            if (step > 0) {
                expectedKeys.add("mfu"); // the first evaluation trained nothing
            }
            if (evaluated) {
                expectedKeys.add("val_loss");
            }
            assertEquals(expectedKeys, fields(line), line.toString());
            double loss = line.get("train_loss").asDouble();
            assertTrue(Double.isFinite(loss) && loss > 0, line.toString());
            assertEquals(schedule.at(Math.max(0, step - 1)), line.get("lr").asDouble(), 0, line.toString());
            if (step > 0) {
                assertEquals(steps.get((int) step - 1).loss(), loss, 0, "the logged loss is the step's loss");
                assertTrue(line.get("tokens_per_s").asDouble() > 0, line.toString());
                // MFU: the model's FLOPs of the step over its time, against the configured peak.
                TrainListener.StepStats stats = steps.get((int) step - 1);
                double expectedMfu = trainer.model().trainingFlopsPerStep(TrainSettings.load(null, overrides).batchSize(),
                        TrainSettings.load(null, overrides).blockSize()) / (stats.stepMillis() / 1000)
                        / ModelFlops.configuredPeak(com.typesafe.config.ConfigFactory.load());
                assertEquals(expectedMfu, stats.mfu(), 1e-12 * expectedMfu, stats.toString());
                assertEquals(stats.mfu(), line.get("mfu").asDouble(), 0, line.toString());
                assertTrue(stats.mfu() > 0 && stats.mfu() < 1, stats.toString());
            }
            if (evaluated) {
                double[] eval = evals.get((int) step / 4);
                assertEquals(eval[2], line.get("val_loss").asDouble(), 0, line.toString());
            }
        }

        JsonNode summary = TinyRun.summary(run);
        assertEquals(List.of("steps", "final_train_loss", "final_val_loss", "best_val_loss", "tokens_per_second",
                "wall_seconds", "params", "steps_skipped", "precision", "config"), fields(summary));
        assertEquals(0, summary.get("steps_skipped").asLong(), "a healthy run skips no step");
        assertEquals("fp32", summary.get("precision").asText(), "fp32 is the default");
        assertEquals("fp32", summary.get("config").get("precision").asText());
        assertEquals(8, summary.get("steps").asLong());
        double[] last = evals.get(2);
        assertEquals(last[1], summary.get("final_train_loss").asDouble(), 0);
        assertEquals(last[2], summary.get("final_val_loss").asDouble(), 0);
        double best = evals.stream().mapToDouble(e -> e[2]).min().orElseThrow();
        assertEquals(best, summary.get("best_val_loss").asDouble(), 0);
        assertTrue(summary.get("tokens_per_second").asDouble() > 0, summary.toString());
        assertTrue(summary.get("wall_seconds").asDouble() > 0, summary.toString());
        assertEquals(trainer.layout().size(), summary.get("params").asLong());
        JsonNode config = summary.get("config");
        assertEquals(16, config.get("n_embd").asInt());
        assertEquals(8, config.get("max_iters").asInt());
        assertEquals(TinyRun.TEXT.chars().distinct().count(), config.get("vocab_size").asLong());
        assertEquals("char", config.get("tokenizer").asText());

        assertEquals(new TrainSummary(8, last[1], last[2], best, summary.get("tokens_per_second").asDouble(),
                summary.get("wall_seconds").asDouble(), trainer.layout().size()), returned);
        assertTrue(Files.size(run.resolve("model.onnx")) > 4L * trainer.layout().size() / 2, "model.onnx holds the weights");
        assertTrue(Files.size(run.resolve("decoder.onnx")) > 4L * trainer.layout().size() / 2, "decoder.onnx holds them too");
        assertEquals(Tokenizer.load(run).vocabSize(), trainer.model().vocabSize());
    }

    private static List<String> fields(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
