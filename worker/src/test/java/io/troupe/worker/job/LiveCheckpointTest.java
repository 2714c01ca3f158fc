package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint written from the live arrays (what the local trainer and a worker session write
 * between steps, to spare the heap a 1.5 GB copy at 124M parameters) is the file a detached copy
 * writes, byte for byte, and it really does not copy.
 */
class LiveCheckpointTest {
    private static final String TEXT = "to be or not to be, that is the question: whether 'tis nobler in the mind\n"
            .repeat(40);

    private static WorkerJob job() throws Exception {
        TrainSettings settings = TrainSettings.load(null, Map.of("n_layer", "1", "n_head", "2", "n_embd", "16",
                "block_size", "16", "batch_size", "4", "warmup_iters", "0", "seed", "3"));
        Tokenizer tokenizer = CharTokenizer.fromText(TEXT);
        TokenSplit split = TokenSplit.encode(new TextCorpus(Path.of("mem.txt"), TEXT), tokenizer, settings.blockSize());
        return new WorkerJob(settings, tokenizer, split, BatchPlan.of(4, 1, 1, 0), EngineOptions.cpu(1),
                GradientReducer.LOCAL, null);
    }

    @Test
    void theLiveCheckpointsFileIsTheCopysByteForByte(@TempDir Path dir) throws Exception {
        try (WorkerJob job = job()) {
            job.step(1, 1e-3, ElasticShare.of(4, 1, 1, 0, 0)); // moments no longer zero
            job.step(2, 1e-3, ElasticShare.of(4, 1, 1, 0, 4));
            Path copied = new CheckpointStore(dir.resolve("copy"), 1, Optional.empty())
                    .save(job.checkpoint(2, "id", 1.25));
            Path live = new CheckpointStore(dir.resolve("live"), 1, Optional.empty())
                    .save(job.liveCheckpoint(2, "id", 1.25));
            assertArrayEquals(Files.readAllBytes(copied), Files.readAllBytes(live));
            Checkpoint read = CheckpointStore.load(live, Optional.empty());
            assertEquals(job.checkpoint(2, "id", 1.25), read, "it round-trips to the same state");
        }
    }

    @Test
    void theLiveCheckpointSharesTheTrainingArraysAndTheCopyDoesNot() throws Exception {
        try (WorkerJob job = job()) {
            job.step(1, 1e-3, ElasticShare.of(4, 1, 1, 0, 0));
            Checkpoint live = job.liveCheckpoint(1, "id", 1.0);
            Checkpoint copy = job.checkpoint(1, "id", 1.0);
            assertSame(job.parameters(), live.parameters(), "no copy of the parameters");
            assertNotSame(job.parameters(), copy.parameters());
            assertNotSame(live.adamM(), copy.adamM());
            assertNotSame(live.adamV(), copy.adamV());
            float[] m = copy.adamM().clone();
            float[] v = copy.adamV().clone();
            float[] p = copy.parameters().clone();
            job.step(2, 1e-3, ElasticShare.of(4, 1, 1, 0, 4));
            // The live view follows training (its moments are AdamW's own); the copy stays as it was.
            assertFalse(Arrays.equals(m, live.adamM()), "the live first moments are AdamW's");
            assertFalse(Arrays.equals(v, live.adamV()), "the live second moments are AdamW's");
            assertArrayEquals(m, copy.adamM());
            assertArrayEquals(v, copy.adamV());
            assertArrayEquals(p, copy.parameters());
        }
    }
}
