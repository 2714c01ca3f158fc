package io.troupe.worker.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {

    private static final String CONFIG =
            "{\"model\":{\"n_layer\":6,\"n_head\":6,\"n_embd\":384},\"lr\":0.001}";
    private static final String TOKENIZER = "{\"type\":\"char\",\"vocab\":[\"\\n\",\"é\",\"🎭\"]}";

    @TempDir
    Path run;

    @Test
    void roundTripIsBitForBit() throws Exception {
        // Over a megabyte per array, so reads and writes cross the 1 MiB buffer several times.
        Checkpoint saved = checkpoint(1200, 300_001, new Random(1));
        saved.parameters()[0] = Float.intBitsToFloat(0x7fc0_1234); // a NaN with a payload
        saved.parameters()[1] = -0.0f;
        saved.parameters()[2] = Float.MIN_VALUE;
        CheckpointStore store = new CheckpointStore(run, 3);
        Path file = store.save(saved);
        assertEquals(run.resolve("checkpoints/ckpt-1200.bin"), file);

        Checkpoint loaded = CheckpointStore.load(file, CONFIG);
        assertEquals(saved, loaded);
        assertBitwiseEqual(saved.parameters(), loaded.parameters());
        assertBitwiseEqual(saved.adamM(), loaded.adamM());
        assertBitwiseEqual(saved.adamV(), loaded.adamV());
        assertEquals(1200, loaded.trainingStep());
        assertEquals(1199, loaded.optimizerStep());
        assertArrayEquals(saved.samplerState(), loaded.samplerState());
        assertArrayEquals(new long[] {-1, 0, Long.MAX_VALUE}, loaded.extraRngState().get("val"));
        assertArrayEquals(new long[0], loaded.extraRngState().get("dropout"));
        assertEquals(TOKENIZER, loaded.tokenizer());
        assertEquals(CONFIG, loaded.config());
    }

    @Test
    void anEmptyModelRoundTripsToo() throws Exception {
        Checkpoint empty = new Checkpoint("", new float[0], new float[0], new float[0], 0, 0,
                new long[0], Map.of(), "");
        Path file = new CheckpointStore(run, 1).save(empty);
        assertEquals(empty, CheckpointStore.load(file));
    }

    @Test
    void truncatedFilesAreRejected() throws Exception {
        Path file = new CheckpointStore(run, 1).save(checkpoint(10, 1000, new Random(2)));
        long size = Files.size(file);
        for (long length : new long[] {size - 1, size - 4, 100, 64, 10, 0}) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.truncate(length);
            }
            assertCorrupt(file);
        }
    }

    @Test
    void aFlippedByteAnywhereIsRejected() throws Exception {
        Path file = new CheckpointStore(run, 1).save(checkpoint(10, 1000, new Random(3)));
        byte[] good = Files.readAllBytes(file);
        // a step in the header, config, parameters, AdamW v, the sampler state, the checksum
        for (int offset : new int[] {17, 70, 400, good.length - 100, good.length - 30,
                good.length - 1}) {
            byte[] bad = good.clone();
            bad[offset] ^= 0x10;
            Files.write(file, bad);
            CheckpointException e = assertCorrupt(file);
            assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        }
    }

    @Test
    void otherFilesAndFormatVersionsAreNamed() throws Exception {
        Path file = new CheckpointStore(run, 1).save(checkpoint(10, 10, new Random(4)));
        byte[] bytes = Files.readAllBytes(file);
        bytes[8] = 2; // format version
        Files.write(file, bytes);
        CheckpointException version =
                assertThrows(CheckpointException.class, () -> CheckpointStore.load(file));
        assertTrue(version.getMessage().contains("format version 2 but this build reads"
                + " version 1"), version.getMessage());

        bytes[0] = 'X';
        Files.write(file, bytes);
        CheckpointException magic =
                assertThrows(CheckpointException.class, () -> CheckpointStore.load(file));
        assertTrue(magic.getMessage().contains("is not a Troupe checkpoint"), magic.getMessage());

        CheckpointException missing = assertThrows(CheckpointException.class,
                () -> CheckpointStore.load(run.resolve("checkpoints/ckpt-99.bin")));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    }

    @Test
    void aWrongConfigIsRejectedNamingTheDifferences() throws Exception {
        CheckpointStore store = new CheckpointStore(run, 2);
        Path file = store.save(checkpoint(10, 10, new Random(5)));
        String other = "{\"model\":{\"n_layer\":4,\"n_head\":6,\"n_embd\":384,\"bias\":true},"
                + "\"lr\":0.001}";
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointStore.load(file, other));
        assertEquals("checkpoint " + file + " was written with a different config"
                + " (model.bias: absent in the checkpoint, true now; model.n_layer: 6 in the"
                + " checkpoint, 4 now); resume with the checkpoint's config or start a new run"
                + " directory", e.getMessage());
        assertThrows(CheckpointException.class, () -> store.latest(other));

        // Same settings written differently are the same config.
        String reordered = "{ \"lr\": 1.0e-3, \"model\": {\"n_embd\": 384, \"n_head\": 6,"
                + " \"n_layer\": 6.0} }";
        assertEquals(10, CheckpointStore.load(file, reordered).trainingStep());
        assertThrows(CheckpointException.class, () -> CheckpointStore.load(file, "not json"));
    }

    @Test
    void keepsTheLastK() throws Exception {
        CheckpointStore store = new CheckpointStore(run, 2);
        Random random = new Random(6);
        for (long step = 100; step <= 500; step += 100) {
            store.save(checkpoint(step, 50, random));
        }
        assertEquals(List.of(store.pathOf(500), store.pathOf(400)), store.list());
        assertEquals(500, store.latest(CONFIG).orElseThrow().trainingStep());
    }

    @Test
    void savingAnEarlierStepDropsTheAbandonedBranch() throws Exception {
        CheckpointStore store = new CheckpointStore(run, 3);
        Random random = new Random(7);
        for (long step : new long[] {100, 200, 300}) {
            store.save(checkpoint(step, 50, random));
        }
        // resumed from 100 after rolling back; the next save is 150
        store.save(checkpoint(150, 50, random));
        assertEquals(List.of(store.pathOf(150), store.pathOf(100)), store.list());
    }

    @Test
    void anInterruptedWriteNeverLooksLikeACheckpointAndIsCleanedUp() throws Exception {
        CheckpointStore store = new CheckpointStore(run, 5);
        Random random = new Random(8);
        store.save(checkpoint(100, 50, random));
        // What a crash between create and rename leaves: a partial temporary file.
        Path temp = store.directory().resolve(".ckpt-200.bin.0123456789ab.tmp");
        byte[] partial = Files.readAllBytes(store.pathOf(100));
        Files.write(temp, Arrays.copyOf(partial, partial.length / 2));

        assertEquals(List.of(store.pathOf(100)), store.list());
        assertEquals(100, store.latest(CONFIG).orElseThrow().trainingStep());
        store.save(checkpoint(200, 50, random));
        assertFalse(Files.exists(temp));
        try (Stream<Path> files = Files.list(store.directory())) {
            assertEquals(2, files.count());
        }
    }

    @Test
    void latestSkipsACorruptNewestCheckpoint() throws Exception {
        CheckpointStore store = new CheckpointStore(run, 5);
        assertEquals(Optional.empty(), store.latest(CONFIG));
        Random random = new Random(9);
        store.save(checkpoint(100, 50, random));
        store.save(checkpoint(200, 50, random));
        try (FileChannel channel = FileChannel.open(store.pathOf(200), StandardOpenOption.WRITE)) {
            channel.truncate(500);
        }
        assertEquals(100, store.latest(CONFIG).orElseThrow().trainingStep());

        Files.write(store.pathOf(100), new byte[] {1, 2, 3});
        CheckpointException none =
                assertThrows(CheckpointException.class, () -> store.latest(CONFIG));
        assertTrue(none.getMessage().startsWith("none of the 2 checkpoints in"), none.getMessage());
        assertTrue(none.getMessage().contains("ckpt-200.bin is truncated or corrupt"),
                none.getMessage());
    }

    @Test
    void aRenamedCheckpointIsCaught() throws Exception {
        CheckpointStore store = new CheckpointStore(run, 5);
        Path file = store.save(checkpoint(100, 5, new Random(10)));
        Path renamed = Files.move(file, store.pathOf(300));
        CheckpointException e =
                assertThrows(CheckpointException.class, () -> CheckpointStore.load(renamed));
        assertTrue(e.getMessage().contains("holds step 100 but is named for step 300"),
                e.getMessage());
    }

    @Test
    void checkpointsCompareByContent() {
        Checkpoint a = checkpoint(5, 10, new Random(11));
        Checkpoint b = checkpoint(5, 10, new Random(11));
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        b.extraRngState().get("val")[0] = 7;
        assertNotEquals(a, b);
        assertThrows(IllegalArgumentException.class, () -> new Checkpoint(CONFIG, new float[2],
                new float[1], new float[2], 0, 0, new long[0], Map.of(), TOKENIZER));
    }

    private static Checkpoint checkpoint(long step, int params, Random random) {
        return new Checkpoint(CONFIG, floats(random, params), floats(random, params),
                floats(random, params), step - 1, step,
                new long[] {random.nextLong(), random.nextLong(), random.nextLong(), 1},
                Map.of("val", new long[] {-1, 0, Long.MAX_VALUE}, "dropout", new long[0]),
                TOKENIZER);
    }

    private static float[] floats(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }

    private static CheckpointException assertCorrupt(Path file) {
        CheckpointException e =
                assertThrows(CheckpointException.class, () -> CheckpointStore.load(file));
        assertTrue(e.getMessage().startsWith("checkpoint " + file + " is truncated or corrupt ("),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("); delete it or resume from an earlier one"),
                e.getMessage());
        return e;
    }

    private static void assertBitwiseEqual(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                    "element " + i);
        }
    }

}
