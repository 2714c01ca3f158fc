package io.troupe.worker.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signed checkpoints: an attacker who can write the run directory can recompute a CRC but not
 * the HMAC, so a forged checkpoint is refused by a process holding the cluster key.
 */
class CheckpointSigningTest {

    private static final Optional<CheckpointKey> KEY = Optional.of(CheckpointKey.of(bytes(32, 7)));
    private static final Optional<CheckpointKey> OTHER = Optional.of(CheckpointKey.of(bytes(32, 8)));

    @TempDir
    Path run;

    @AfterEach
    void noProcessKey() {
        CheckpointSigning.install(null);
    }

    @Test
    void aSignedCheckpointRoundTripsAndCarriesItsSignatureAfterTheCrc() throws Exception {
        Checkpoint checkpoint = checkpoint(10, 1000);
        Path signed = new CheckpointStore(run, 2, KEY).save(checkpoint);
        Path plain = new CheckpointStore(run.resolve("plain"), 2, Optional.empty()).save(checkpoint);
        assertEquals(Files.size(plain) + CheckpointKey.SIGNATURE_BYTES, Files.size(signed));
        assertEquals(CheckpointFile.FLAG_SIGNED, header(Files.readAllBytes(signed)).getInt(52));
        assertEquals(checkpoint, CheckpointStore.load(signed, KEY));
        // A process without the key still reads it (checking the CRC only).
        assertEquals(checkpoint, CheckpointStore.load(signed, Optional.empty()));
    }

    @Test
    void aForgedPayloadWithARecomputedCrcIsRefusedWithTheKeyButPassesTheCrcAlone() throws Exception {
        Path file = new CheckpointStore(run, 2, KEY).save(checkpoint(10, 1000));
        byte[] bytes = Files.readAllBytes(file);
        bytes[CheckpointFile.HEADER_BYTES + 500] ^= 0x40; // a parameter, in the payload
        recomputeCrc(bytes, CheckpointKey.SIGNATURE_BYTES);
        Files.write(file, bytes);

        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointStore.load(file, KEY));
        assertEquals("checkpoint " + file + " fails its signature check: it was altered after it"
                + " was written, or signed with another cluster key, so it is refused; check which"
                + " --sign-key/--tls directory wrote it, or delete it or resume from an earlier one",
                e.getMessage());
        // Why the CRC is not enough: without the key the forgery is accepted.
        CheckpointStore.load(file, Optional.empty());
    }

    @Test
    void aForgedHeaderIsRefusedToo() throws Exception {
        Path file = new CheckpointStore(run, 2, KEY).save(checkpoint(10, 1000));
        byte[] bytes = Files.readAllBytes(file);
        header(bytes).putLong(24, 999); // the optimizer step
        recomputeCrc(bytes, CheckpointKey.SIGNATURE_BYTES);
        Files.write(file, bytes);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointStore.load(file, KEY));
        assertTrue(e.getMessage().contains("fails its signature check"), e.getMessage());
    }

    @Test
    void strippingTheSignatureLeavesAnUnsignedCheckpointWhichTheKeyRefuses() throws Exception {
        Path file = new CheckpointStore(run, 2, KEY).save(checkpoint(10, 1000));
        byte[] bytes = Files.readAllBytes(file);
        byte[] stripped = Arrays.copyOf(bytes, bytes.length - CheckpointKey.SIGNATURE_BYTES);
        header(stripped).putInt(52, 0);
        recomputeCrc(stripped, 0);
        Files.write(file, stripped);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointStore.load(file, KEY));
        assertEquals("checkpoint " + file + " is unsigned but this process checks checkpoints with"
                + " a cluster key, so it is refused; read it in a process without --sign-key/--tls,"
                + " or start a new run with the key", e.getMessage());
    }

    @Test
    void anotherClusterKeyIsRefused() throws Exception {
        Path file = new CheckpointStore(run, 2, OTHER).save(checkpoint(10, 1000));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointStore.load(file, KEY));
        assertTrue(e.getMessage().contains("fails its signature check"), e.getMessage());
    }

    @Test
    void latestFallsBackPastAForgedNewestCheckpointToTheNewestGenuineOne() throws Exception {
        CheckpointStore store = new CheckpointStore(run, 3, KEY);
        Checkpoint genuine = checkpoint(10, 1000);
        store.save(genuine);
        Path newest = store.save(checkpoint(20, 1000));
        byte[] bytes = Files.readAllBytes(newest);
        bytes[CheckpointFile.HEADER_BYTES + 700] ^= 0x01;
        recomputeCrc(bytes, CheckpointKey.SIGNATURE_BYTES);
        Files.write(newest, bytes);
        assertEquals(genuine, store.latest("config").orElseThrow());
    }

    @Test
    void theCodecAndStoreUseTheProcessKeyOnceInstalled() throws Exception {
        Checkpoint checkpoint = checkpoint(10, 100);
        CheckpointSigning.install(KEY.get());
        byte[] encoded = CheckpointCodec.encode(checkpoint);
        assertEquals(CheckpointFile.FLAG_SIGNED, header(encoded).getInt(52));
        Path file = new CheckpointStore(run, 1).save(checkpoint);
        assertArrayEquals(Files.readAllBytes(file), encoded);
        assertEquals(checkpoint, CheckpointStore.load(file));
        CheckpointSigning.install(OTHER.get());
        assertThrows(CheckpointException.class, () -> CheckpointCodec.decode(encoded,
                new CheckpointOrigin("the state from peer", "fetch it again", "x", "y")));
    }

    @Test
    void keyFilesAreHexOfAtLeast32BytesOrAOneLineError() throws Exception {
        Path good = run.resolve("hmac.key");
        Files.writeString(good, HexFormat.of().formatHex(bytes(32, 7)) + "\n");
        Path file = new CheckpointStore(run, 1, Optional.of(CheckpointKey.read(good)))
                .save(checkpoint(1, 10));
        CheckpointStore.load(file, KEY); // the same key as read from text

        Path missing = run.resolve("none.key");
        assertEquals("checkpoint key file " + missing + " does not exist; create one with 'troupe"
                + " secret init DIR' (DIR/hmac.key)", assertThrows(CheckpointException.class,
                        () -> CheckpointKey.read(missing)).getMessage());
        Path notHex = run.resolve("bad.key");
        Files.writeString(notHex, "not a key");
        assertTrue(assertThrows(CheckpointException.class, () -> CheckpointKey.read(notHex))
                .getMessage().contains("is not hexadecimal"));
        Path shortKey = run.resolve("short.key");
        Files.writeString(shortKey, "abcd");
        assertTrue(assertThrows(CheckpointException.class, () -> CheckpointKey.read(shortKey))
                .getMessage().contains("holds 2 bytes, fewer than the 32"));
    }

    // Rewrites the CRC32C trailer over header and payload, as a forger would.
    private static void recomputeCrc(byte[] bytes, int signatureBytes) {
        int covered = bytes.length - CheckpointFile.TRAILER_BYTES - signatureBytes;
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, covered);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(covered, (int) crc.getValue());
    }

    private static ByteBuffer header(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static Checkpoint checkpoint(long step, int params) {
        float[] p = new float[params];
        float[] m = new float[params];
        float[] v = new float[params];
        for (int i = 0; i < params; i++) {
            p[i] = i * 0.5f;
            m[i] = -i;
            v[i] = i * i;
        }
        return new Checkpoint("config", p, m, v, step, step, new long[] {1, step},
                Map.of("val", new long[] {3, 4}), "{\"tokenizer\":1}");
    }

    private static byte[] bytes(int n, int seed) {
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            bytes[i] = (byte) (seed * 31 + i);
        }
        return bytes;
    }
}
