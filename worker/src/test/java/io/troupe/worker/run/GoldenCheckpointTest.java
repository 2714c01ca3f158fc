package io.troupe.worker.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.TrainSettings;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Format stability: a checkpoint written by an earlier build (format version 1, committed under
 * {@code src/test/resources/golden/}) still loads with the same contents, and a run resumes from
 * it exactly where it stopped. When this fails, the current code no longer reads old checkpoints:
 * keep the old reading, or raise the format version so old files get a clear error. Never
 * regenerate the file to make this pass.
 */
class GoldenCheckpointTest {
    static final String CORPUS = "corpus.txt";
    static final String CHECKPOINT = "ckpt-2.bin";

    /** The settings the golden run used, every one explicit so reference.conf changes do not shift them. */
    static Map<String, String> settings(long maxIters) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("n_layer", "1");
        s.put("n_head", "2");
        s.put("n_embd", "4");
        s.put("block_size", "8");
        s.put("dropout", "0.0");
        s.put("bias", "true");
        s.put("tied_embeddings", "true");
        s.put("batch_size", "2");
        s.put("grad_accum", "1");
        s.put("max_iters", Long.toString(maxIters));
        s.put("learning_rate", "1e-2");
        s.put("min_lr", "1e-3");
        s.put("warmup_iters", "1");
        s.put("lr_decay_iters", "4");
        s.put("decay_lr", "true");
        s.put("beta1", "0.9");
        s.put("beta2", "0.95");
        s.put("weight_decay", "0.1");
        s.put("grad_clip", "1.0");
        s.put("eval_interval", "2");
        s.put("eval_iters", "1");
        s.put("log_interval", "1");
        s.put("checkpoint_interval", "1");
        s.put("keep_checkpoints", "5");
        s.put("seed", "7");
        return s;
    }

    static Trainer trainer(Path run, Path corpusFile, long maxIters) throws Exception {
        TrainSettings settings = TrainSettings.load(null, settings(maxIters));
        TextCorpus corpus = TextCorpus.load(corpusFile);
        CharTokenizer tokenizer = CharTokenizer.fromText(corpus.text());
        return new Trainer(settings, tokenizer, TokenSplit.encode(corpus, tokenizer, settings.blockSize()), run,
                EngineOptions.cpu(1));
    }

    @TempDir
    Path run;

    @Test
    void theGoldenCheckpointLoadsWithTheContentsItWasWrittenWith() throws Exception {
        Checkpoint c = CheckpointStore.load(golden(CHECKPOINT));
        assertEquals(2, c.trainingStep());
        assertEquals(2, c.optimizerStep());
        assertEquals(EXPECTED_IDENTITY, c.config());
        assertEquals(EXPECTED_TOKENIZER, c.tokenizer());
        assertEquals(PARAMETERS, c.parameters().length);
        assertEquals(PARAMETERS_CRC32, crc32(c.parameters()), "parameters");
        assertEquals(ADAM_M_CRC32, crc32(c.adamM()), "AdamW m");
        assertEquals(ADAM_V_CRC32, crc32(c.adamV()), "AdamW v");
        assertArrayEquals(TRAIN_SAMPLER_AT_2, c.samplerState(), "training sampler");
        assertEquals(java.util.Set.of("best_val_loss_bits", "eval_train_sampler", "eval_val_sampler"),
                c.extraRngState().keySet());
        assertArrayEquals(EVAL_TRAIN_SAMPLER_AT_2, c.extraRngState().get("eval_train_sampler"));
        assertArrayEquals(EVAL_VAL_SAMPLER_AT_2, c.extraRngState().get("eval_val_sampler"));
        assertArrayEquals(new long[] {BEST_VAL_LOSS_BITS}, c.extraRngState().get("best_val_loss_bits"));
    }

    @Test
    void aRunResumesFromTheGoldenCheckpointWhereItStopped() throws Exception {
        Path checkpoints = run.resolve(CheckpointStore.DIRECTORY);
        Files.createDirectories(checkpoints);
        Files.copy(golden(CHECKPOINT), checkpoints.resolve(CHECKPOINT));
        Trainer trainer = trainer(run, golden(CORPUS), 3);
        // Today's settings identity of the golden settings is the one stored in the file.
        assertEquals(EXPECTED_IDENTITY, trainer.resumeIdentity());
        long[] firstStep = {-1};
        TrainSummary summary = trainer.run(true, new TrainListener() {
            @Override
            public void onStart(long first, long last, long parameters) {
                firstStep[0] = first;
            }
        });
        assertEquals(2, firstStep[0], "the run continued from the golden checkpoint's step, not from scratch");
        assertEquals(3, summary.steps());

        Checkpoint next = CheckpointStore.load(new CheckpointStore(run, 5).pathOf(3));
        assertEquals(3, next.optimizerStep(), "the optimizer continued from the stored step");
        // The golden file predates local runs training on the sample order: its training sampler
        // state is a generator's. It still loads, and the resumed run continues at sample
        // step * B of the sample order, so the checkpoint it writes holds the tagged cursor
        // {tag, 3 * B} (B = 2), not a generator state.
        long[] sampler = next.samplerState();
        assertEquals(2, sampler.length, "training sampler after step 3 is a tagged sample cursor");
        assertEquals(3L * 2, sampler[1], "the cursor after step 3 is sample 3 * B");
        // The evaluation samplers continued too: step 3, the last, evaluated once more.
        assertArrayEquals(EVAL_TRAIN_SAMPLER_AT_3, next.extraRngState().get("eval_train_sampler"));
        assertArrayEquals(EVAL_VAL_SAMPLER_AT_3, next.extraRngState().get("eval_val_sampler"));
        assertEquals(EXPECTED_TOKENIZER, next.tokenizer());
    }

    @Test
    void anUnknownFormatVersionIsAOneLineErrorNamingBothVersions() throws Exception {
        byte[] bytes = Files.readAllBytes(golden(CHECKPOINT));
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 2); // the header's format version
        Path file = run.resolve(CHECKPOINT);
        Files.write(file, bytes);
        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointStore.load(file));
        assertEquals("checkpoint " + file + " has format version 2 but this build reads version 1;"
                + " resume it with the Troupe version that wrote it", e.getMessage());
    }

    private static Path golden(String name) throws URISyntaxException {
        return Path.of(GoldenCheckpointTest.class.getResource("/golden/" + name).toURI());
    }

    /** CRC32 of the floats' little-endian IEEE 754 bytes: any changed bit changes it. */
    static long crc32(float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }

    // What the golden run stored, read from the file when it was written (GoldenCheckpointWriter).
    private static final String EXPECTED_IDENTITY = "{\"n_layer\":1,\"n_head\":2,\"n_embd\":4,\"block_size\":8,"
            + "\"dropout\":0.0,\"bias\":true,\"tied_embeddings\":true,\"batch_size\":2,\"grad_accum\":1,"
            + "\"learning_rate\":0.01,\"min_lr\":0.001,\"warmup_iters\":1,\"lr_decay_iters\":4,\"decay_lr\":true,"
            + "\"beta1\":0.9,\"beta2\":0.95,\"weight_decay\":0.1,\"grad_clip\":1.0,\"seed\":7,\"vocab_size\":6}";
    private static final String EXPECTED_TOKENIZER = "{\"type\":\"char\",\"vocab\":[\"\\n\",\" \",\"a\",\"b\",\"c\",\"d\"]}";
    /** V=6, T=8, C=4, one layer, biases: 24 + 32 + 8 + 60 + 20 + 8 + 80 + 68 + 8. */
    private static final int PARAMETERS = 308;
    private static final long PARAMETERS_CRC32 = 793005155L;
    private static final long ADAM_M_CRC32 = 1999410542L;
    private static final long ADAM_V_CRC32 = 142788518L;
    /** The training sampler's xoshiro256** state, seeded with 7, after 2 batches of 2 windows. */
    private static final long[] TRAIN_SAMPLER_AT_2 =
        {-5700195826814101628L, -8506027926713513984L, -2309703308351702944L, 1689710171917835525L};
    /** The same generator after step 3 of an uninterrupted 3-step run of the same settings. */
    /** The evaluation samplers after the evaluations at steps 0 and 2. */
    private static final long[] EVAL_TRAIN_SAMPLER_AT_2 =
        {1958477981853175092L, 4944188269474329860L, -8761173925481184111L, -8148228745713487075L};
    private static final long[] EVAL_VAL_SAMPLER_AT_2 =
        {7318201104104441330L, -6485402768045657683L, -1249067986400731628L, 2759436135809310633L};
    /** ... and after the uninterrupted run's evaluation at its last step, 3. */
    private static final long[] EVAL_TRAIN_SAMPLER_AT_3 =
        {-6898781437816972166L, 564081548687490601L, -8946027319592959352L, 3092545929089426452L};
    private static final long[] EVAL_VAL_SAMPLER_AT_3 =
        {3828490373283436413L, 3662085317270444635L, 5317979078409482256L, -8101559687577435439L};
    /** The best validation loss so far, as double bits (1.78211). */
    private static final long BEST_VAL_LOSS_BITS = 4610704722553208832L;
}
