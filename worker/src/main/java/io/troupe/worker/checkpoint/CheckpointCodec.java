package io.troupe.worker.checkpoint;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Checkpoints as bytes outside files: for sending the training state to a peer. The bytes are
 * exactly a checkpoint file's (header, payload, CRC32C trailer; see the format in
 * {@code CheckpointFile}), from the same encoder and decoder, so a state received from a peer can
 * be saved as is and a file can be served without decoding it. Signing and verifying use the
 * process's key ({@link CheckpointSigning}).
 */
public final class CheckpointCodec {

    private CheckpointCodec() {
    }

    /**
     * Encodes {@code checkpoint} into one array, the bytes its checkpoint file would hold.
     *
     * @throws IllegalArgumentException if the encoding exceeds the 2 GiB an array can hold
     *     (about 170 million parameters); use {@link #encode(Checkpoint, WritableByteChannel)}
     */
    public static byte[] encode(Checkpoint checkpoint) {
        return CheckpointFile.encode(checkpoint, CheckpointSigning.key());
    }

    /** Writes the encoding of {@code checkpoint} to {@code channel}, in buffer-sized pieces. */
    public static void encode(Checkpoint checkpoint, WritableByteChannel channel)
            throws IOException {
        CheckpointFile.write(checkpoint, channel, CheckpointSigning.key());
    }

    /**
     * Decodes and verifies a whole encoded checkpoint.
     *
     * @throws CheckpointException if the bytes are not a checkpoint, of another format version,
     *     truncated or corrupt; the message names {@code origin} and its fix
     */
    public static Checkpoint decode(byte[] encoded, CheckpointOrigin origin)
            throws CheckpointException {
        try {
            return CheckpointFile.decode(new BufferChannel(ByteBuffer.wrap(encoded)),
                    encoded.length, origin, CheckpointSigning.key());
        } catch (EOFException e) {
            throw origin.corrupt("it ends early", e);
        } catch (IOException e) {
            throw new IllegalStateException("reading from memory cannot fail", e);
        }
    }

    /**
     * Decodes and verifies the {@code size} bytes of an encoded checkpoint as they arrive from
     * {@code channel}, holding only one buffer of them (1 MiB) besides the decoded arrays.
     *
     * @throws EOFException if the channel ends before {@code size} bytes
     * @throws IOException if the channel fails
     * @throws CheckpointException if the bytes are not a checkpoint, of another format version,
     *     truncated or corrupt; the message names {@code origin} and its fix
     */
    public static Checkpoint decode(ReadableByteChannel channel, long size,
            CheckpointOrigin origin) throws IOException, CheckpointException {
        return CheckpointFile.decode(channel, size, origin, CheckpointSigning.key());
    }

    /**
     * The training step in the header of {@code encoded}, read without decoding the rest (which
     * is not verified).
     *
     * @throws IllegalArgumentException if the bytes do not start with a checkpoint header of the
     *     format version this build writes
     */
    public static long trainingStep(byte[] encoded) {
        return CheckpointFile.trainingStep(encoded);
    }
}
