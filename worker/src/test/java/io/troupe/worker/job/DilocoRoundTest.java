package io.troupe.worker.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A DiLoCo worker's round: H local steps, then the outer Nesterov step from the last outer state. */
class DilocoRoundTest {
    private static final String TEXT = "to be or not to be, that is the question: whether 'tis nobler in the mind\n"
            .repeat(40);
    private static final int H = 3;

    private static Map<String, String> tiny(boolean diloco) {
        Map<String, String> m = new HashMap<>(Map.of("n_layer", "1", "n_head", "2", "n_embd", "16", "block_size", "16",
                "batch_size", "4", "warmup_iters", "0", "seed", "3", "dropout", "0"));
        if (diloco) {
            m.putAll(Map.of("sync", "diloco", "inner_steps", String.valueOf(H), "outer_lr", "0.7",
                    "outer_momentum", "0.9"));
        }
        return m;
    }

    private static WorkerJob job(boolean diloco) throws Exception {
        TrainSettings settings = TrainSettings.load(null, tiny(diloco));
        Tokenizer tokenizer = CharTokenizer.fromText(TEXT);
        TokenSplit split = TokenSplit.encode(new TextCorpus(Path.of("mem.txt"), TEXT), tokenizer, settings.blockSize());
        return new WorkerJob(settings, tokenizer, split, BatchPlan.of(4, 1, 1, 0), EngineOptions.cpu(1),
                GradientReducer.LOCAL, null);
    }

    private static void steps(WorkerJob job, long from, long to) throws Exception {
        for (long s = from; s <= to; s++) {
            job.step(s, 1e-2, ElasticShare.of(4, 1, 1, 0, (s - 1) * 4));
        }
    }

    @Test
    void theOuterStepAppliesNesterovToTheChangeOfTheRound() throws Exception {
        try (WorkerJob plain = job(false); WorkerJob diloco = job(true)) {
            float[] start = plain.parameters().clone();
            assertArrayEquals(start, diloco.parameters(), 0f, "the same initialisation");
            steps(plain, 1, H);
            steps(diloco, 1, H);
            // One worker, first round: the pseudo-gradient g = start - local, b = g, and
            // outer = start - 0.7 * (g + 0.9 g) = start - 1.33 g.
            float[] local = plain.parameters();
            float[] outer = diloco.parameters();
            double moved = 0;
            for (int i = 0; i < start.length; i++) {
                float g = start[i] - local[i];
                assertEquals(start[i] - 0.7 * (g + 0.9 * g), outer[i], 1e-6, "parameter " + i);
                moved = Math.max(moved, Math.abs(g));
            }
            assertNotEquals(0.0, moved, "the round trained");
            assertEquals(H, diloco.outerStep());
        }
    }

    @Test
    void aFailureGoesBackToTheOuterStateAndACheckpointResumesTheSameTrajectory() throws Exception {
        try (WorkerJob a = job(true); WorkerJob b = job(true)) {
            steps(a, 1, H);
            Checkpoint atOuter = a.checkpoint(H, "id", Double.POSITIVE_INFINITY);
            float[] outer = a.parameters().clone();
            steps(a, H + 1, H + 2); // inner steps of the next round, then a failure
            assertNotEquals(java.util.Arrays.hashCode(outer), java.util.Arrays.hashCode(a.parameters()));
            assertThrows(IllegalStateException.class, () -> a.checkpoint(H + 2, "id", 0),
                    "no checkpoint between outer steps");
            assertEquals(H, a.revertToOuterState());
            assertArrayEquals(outer, a.parameters(), 0f);
            // b continues from the checkpoint (a resume, or a joining worker's state transfer).
            b.restoreState(atOuter);
            steps(a, H + 1, 2 * H);
            steps(b, H + 1, 2 * H);
            assertArrayEquals(a.parameters(), b.parameters(), 0f, "the outer momentum came with the state");
            assertArrayEquals(a.checkpoint(2 * H, "id", 0).adamM(), b.checkpoint(2 * H, "id", 0).adamM(), 0f);
        }
    }

    @Test
    void theMomentumPacksIntoCheckpointStateBitForBit() {
        float[] values = {1.5f, -0f, Float.MIN_VALUE, -3.25e7f, 0.1f};
        assertArrayEquals(values, DilocoRound.unpack(DilocoRound.pack(values), values.length), 0f);
        assertThrows(IllegalArgumentException.class, () -> DilocoRound.unpack(new long[2], 5));
    }
}
