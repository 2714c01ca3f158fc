package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.troupe.worker.checkpoint.CheckpointSigning;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --sign-key}: a run's checkpoints are signed, and a forged one stops a resume with one line. */
class SignedCheckpointsCliTest {

    @TempDir
    Path tmp;

    @AfterEach
    void noProcessKey() {
        CheckpointSigning.install(null);
    }

    @Test
    void aResumeWithTheKeyContinuesAndAForgedCheckpointIsRefused() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        Path key = Files.writeString(tmp.resolve("hmac.key"), "11".repeat(32));
        Path other = Files.writeString(tmp.resolve("other.key"), "22".repeat(32));
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 2, "--sign-key", key.toString()).assertOk();
        Path checkpoint = out.resolve("checkpoints/ckpt-2.bin");
        assertEquals(1, ByteBuffer.wrap(Files.readAllBytes(checkpoint)).order(ByteOrder.LITTLE_ENDIAN).getInt(52),
                "the signed flag");

        trainTiny(corpus, out, 3, "--resume", "--sign-key", other.toString())
                .assertOneLineError("fails its signature check");
        trainTiny(corpus, out, 3, "--resume", "--sign-key", tmp.resolve("none.key").toString())
                .assertOneLineError("does not exist; create one with 'troupe secret init DIR'");

        // A forger changes a parameter and recomputes the CRC; the key still tells.
        byte[] bytes = Files.readAllBytes(checkpoint);
        bytes[64 + 100] ^= 0x10;
        int covered = bytes.length - 4 - 32;
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, covered);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(covered, (int) crc.getValue());
        Files.write(checkpoint, bytes);
        trainTiny(corpus, out, 3, "--resume", "--sign-key", key.toString())
                .assertOneLineError("fails its signature check");
    }

    @Test
    void aRunWithoutAKeyStaysUnsignedAfterOneWithAKey() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        Path key = Files.writeString(tmp.resolve("hmac.key"), "11".repeat(32));
        trainTiny(corpus, tmp.resolve("signed"), 1, "--sign-key", key.toString()).assertOk();
        trainTiny(corpus, tmp.resolve("plain"), 1).assertOk();
        assertEquals(0, ByteBuffer.wrap(Files.readAllBytes(tmp.resolve("plain/checkpoints/ckpt-1.bin")))
                .order(ByteOrder.LITTLE_ENDIAN).getInt(52));
    }
}
