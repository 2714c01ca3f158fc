package io.troupe.worker.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-memory encoding is the file's, bit for bit, and is verified the same way. */
class CheckpointCodecTest {

    private static final CheckpointOrigin ORIGIN = new CheckpointOrigin("the state from peer",
            "fetch it again", "check the peer", "upgrade the peer");

    @TempDir
    Path run;

    @Test
    void theBytesAreTheFilesAndDecodeToTheSameCheckpoint() throws Exception {
        Checkpoint checkpoint = checkpoint(300_001, new Random(1)); // > 1 MiB per array
        byte[] encoded = CheckpointCodec.encode(checkpoint);
        Path file = new CheckpointStore(run, 1).save(checkpoint);
        assertArrayEquals(Files.readAllBytes(file), encoded);

        assertEquals(checkpoint, CheckpointCodec.decode(encoded, ORIGIN));
        assertEquals(checkpoint, CheckpointCodec.decode(
                new BufferChannel(ByteBuffer.wrap(encoded)), encoded.length, ORIGIN));
        assertEquals(42, CheckpointCodec.trainingStep(encoded));
    }

    @Test
    void aFlippedByteIsAChecksumMismatchNamingTheOrigin() {
        byte[] encoded = CheckpointCodec.encode(checkpoint(1000, new Random(2)));
        encoded[encoded.length / 2] ^= 0x01;
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointCodec.decode(encoded, ORIGIN));
        assertEquals("the state from peer is truncated or corrupt (checksum mismatch);"
                + " fetch it again", e.getMessage());
    }

    @Test
    void truncatedBytesAreRejected() {
        byte[] encoded = CheckpointCodec.encode(checkpoint(1000, new Random(3)));
        for (int length : new int[] {encoded.length - 1, 100, 10, 0}) {
            byte[] cut = Arrays.copyOf(encoded, length);
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> CheckpointCodec.decode(cut, ORIGIN));
            assertTrue(e.getMessage().startsWith("the state from peer is truncated or corrupt"),
                    e.getMessage());
        }
        // A stream that ends before the size it announced is an EOF, for the caller to name.
        assertThrows(EOFException.class, () -> CheckpointCodec.decode(
                new BufferChannel(ByteBuffer.wrap(Arrays.copyOf(encoded, 5000))), encoded.length,
                ORIGIN));
    }

    @Test
    void otherBytesAndVersionsSayWhatToDo() {
        byte[] encoded = CheckpointCodec.encode(checkpoint(10, new Random(4)));
        encoded[8] = 9;
        CheckpointException version = assertThrows(CheckpointException.class,
                () -> CheckpointCodec.decode(encoded, ORIGIN));
        assertEquals("the state from peer has format version 9 but this build reads version 1;"
                + " upgrade the peer", version.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CheckpointCodec.trainingStep(encoded));
        encoded[0] = 'X';
        CheckpointException foreign = assertThrows(CheckpointException.class,
                () -> CheckpointCodec.decode(encoded, ORIGIN));
        assertTrue(foreign.getMessage().endsWith("is not a Troupe checkpoint (its first bytes are"
                + " not \"TROUPECK\"); check the peer"), foreign.getMessage());
    }

    private static Checkpoint checkpoint(int params, Random random) {
        return new Checkpoint("{\"n_layer\":2}", floats(random, params), floats(random, params),
                floats(random, params), 41, 42, new long[] {random.nextLong(), 7},
                Map.of("val", new long[] {1, 2}), "{\"type\":\"char\"}");
    }

    private static float[] floats(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}
