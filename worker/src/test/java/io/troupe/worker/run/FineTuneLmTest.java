package io.troupe.worker.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.model.gpt.Trainable;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.job.BatchPlan;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.GradientReducer;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Language-model fine-tuning through the one step path: a job that starts from a source model and trains part of it. */
class FineTuneLmTest {

    @Test
    void aJobWithFrozenLowerLayersKeepsThemAndTrainsOnlyTheRest(@TempDir Path dir) throws Exception {
        TrainSettings settings = TrainSettings.load(null, TinyRun.settings("n_layer=2"));
        Tokenizer tokenizer = CharTokenizer.fromText(TinyRun.TEXT);
        TokenSplit split = TokenSplit.encode(new TextCorpus(dir.resolve("c.txt"), TinyRun.TEXT), tokenizer,
                settings.blockSize());
        GptConfig cfg = settings.model(tokenizer.vocabSize());
        ParameterLayout layout = ParameterLayout.of(cfg);
        float[] source = ParameterInit.gpt2(cfg, layout, 99);
        Trainable trainable = TrainingScope.parse("1", null).select(cfg, layout);
        BatchPlan plan = BatchPlan.of(settings.batchSize(), settings.gradAccum(), 1, 0);
        try (WorkerJob job = new WorkerJob(settings, tokenizer, split, plan, EngineOptions.cpu(1),
                GradientReducer.LOCAL, null, new StartingPoint(source, trainable))) {
            assertEquals(trainable.count(), job.parameters().length, "the job holds only what trains");
            assertArrayEquals(source, job.fullParameters(), "it starts from the source model");
            for (long step = 1; step <= 3; step++) {
                job.step(step, 1e-2, ElasticShare.of(settings.batchSize(), 1, 1, 0, (step - 1) * settings.batchSize()));
            }
            float[] after = job.fullParameters();
            int frozenEnd = Math.toIntExact(layout.view("h.1.ln_1.weight").offset());
            assertArrayEquals(Arrays.copyOf(source, frozenEnd), Arrays.copyOf(after, frozenEnd),
                    "embeddings and block 0 stay as the source had them");
            assertFalse(Arrays.equals(Arrays.copyOfRange(source, frozenEnd, source.length),
                    Arrays.copyOfRange(after, frozenEnd, after.length)), "block 1 and ln_f train");
        }
    }
}
