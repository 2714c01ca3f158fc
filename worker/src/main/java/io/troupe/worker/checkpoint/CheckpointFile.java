package io.troupe.worker.checkpoint;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The binary layout of one checkpoint file, version 1. All numbers little-endian.
 *
 * <pre>
 * header (64 bytes)
 *   0  magic "TROUPECK"           8 bytes
 *   8  format version             int32  (1)
 *  12  header length              int32  (64)
 *  16  training step              int64
 *  24  optimizer step             int64
 *  32  config length C            int32  bytes of UTF-8
 *  36  tokenizer length K         int32  bytes of UTF-8
 *  40  parameter count P          int32
 *  44  sampler state length S     int32  longs
 *  48  extra state length E       int32  bytes
 *  52  reserved                   int32  (0)
 *  56  payload length             int64  C + K + 12P + 8S + E
 * payload
 *   config (C), tokenizer (K), parameters (4P), AdamW m (4P), AdamW v (4P),
 *   sampler state (8S), extra states (E: int32 count, then per entry int32 name length,
 *   UTF-8 name, int32 state length, int64 words)
 * trailer
 *   CRC32C of header and payload  uint32
 * </pre>
 *
 * <p>CRC32C rather than SHA-256: the threat is a torn write or a flipped bit, not an attacker,
 * and CRC32C runs at memory speed on CPUs with the CRC instruction, where SHA-256 would add
 * seconds to every checkpoint of a large model.
 */
final class CheckpointFile {

    static final byte[] MAGIC = "TROUPECK".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int HEADER_BYTES = 64;
    static final int TRAILER_BYTES = Integer.BYTES;

    private static final int BUFFER_BYTES = 1 << 20;

    private CheckpointFile() {
    }

    /** Writes {@code checkpoint} from the channel's current position. */
    static void write(Checkpoint checkpoint, FileChannel channel) throws IOException {
        byte[] config = utf8(checkpoint.config());
        byte[] tokenizer = utf8(checkpoint.tokenizer());
        byte[] extra = encodeExtra(checkpoint.extraRngState());
        int params = checkpoint.parameters().length;
        long[] sampler = checkpoint.samplerState();

        ChecksummedOutput out = new ChecksummedOutput(channel, BUFFER_BYTES);
        out.putBytes(MAGIC);
        out.putInt(VERSION);
        out.putInt(HEADER_BYTES);
        out.putLong(checkpoint.trainingStep());
        out.putLong(checkpoint.optimizerStep());
        out.putInt(config.length);
        out.putInt(tokenizer.length);
        out.putInt(params);
        out.putInt(sampler.length);
        out.putInt(extra.length);
        out.putInt(0);
        out.putLong(payloadBytes(config.length, tokenizer.length, params, sampler.length,
                extra.length));
        out.putBytes(config);
        out.putBytes(tokenizer);
        out.putFloats(checkpoint.parameters());
        out.putFloats(checkpoint.adamM());
        out.putFloats(checkpoint.adamV());
        out.putLongs(sampler);
        out.putBytes(extra);
        out.finishWithChecksum();
    }

    /**
     * Reads and verifies a checkpoint file.
     *
     * @throws CheckpointException if the file is missing, unreadable, not a checkpoint, of
     *     another format version, truncated or corrupt
     */
    static Checkpoint read(Path file) throws CheckpointException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file, channel);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("checkpoint " + file + " does not exist; list the run's"
                    + " checkpoints directory for the ones there are", e);
        } catch (EOFException e) {
            throw corrupt(file, "it ends early", e);
        } catch (IOException e) {
            throw new CheckpointException("cannot read checkpoint " + file + ": " + e
                    + "; check the file's permissions and the disk", e);
        }
    }

    private static Checkpoint read(Path file, FileChannel channel)
            throws IOException, CheckpointException {
        long size = channel.size();
        if (size < HEADER_BYTES + TRAILER_BYTES) {
            throw corrupt(file, "it has only " + size + " bytes", null);
        }
        ChecksummedInput in = new ChecksummedInput(channel, size - TRAILER_BYTES, BUFFER_BYTES);
        byte[] magic = new byte[MAGIC.length];
        in.getBytes(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new CheckpointException(file + " is not a Troupe checkpoint (its first bytes are"
                    + " not \"TROUPECK\"); move it out of the checkpoints directory");
        }
        int version = in.getInt();
        if (version != VERSION) {
            throw new CheckpointException("checkpoint " + file + " has format version " + version
                    + " but this build reads version " + VERSION + "; resume it with the Troupe"
                    + " version that wrote it");
        }
        int headerBytes = in.getInt();
        long trainingStep = in.getLong();
        long optimizerStep = in.getLong();
        int configBytes = in.getInt();
        int tokenizerBytes = in.getInt();
        int params = in.getInt();
        int samplerLongs = in.getInt();
        int extraBytes = in.getInt();
        in.getInt(); // reserved
        long declaredPayload = in.getLong();
        if (headerBytes != HEADER_BYTES || trainingStep < 0 || optimizerStep < 0
                || configBytes < 0 || tokenizerBytes < 0 || params < 0 || samplerLongs < 0
                || extraBytes < 0) {
            throw corrupt(file, "its header holds impossible values", null);
        }
        long payload = payloadBytes(configBytes, tokenizerBytes, params, samplerLongs, extraBytes);
        if (payload != declaredPayload) {
            throw corrupt(file, "its header's lengths disagree", null);
        }
        long expectedSize = HEADER_BYTES + payload + TRAILER_BYTES;
        if (size != expectedSize) {
            throw corrupt(file, "it has " + size + " bytes where its header promises "
                    + expectedSize, null);
        }

        byte[] config = new byte[configBytes];
        byte[] tokenizer = new byte[tokenizerBytes];
        float[] parameters = new float[params];
        float[] m = new float[params];
        float[] v = new float[params];
        long[] sampler = new long[samplerLongs];
        byte[] extra = new byte[extraBytes];
        in.getBytes(config);
        in.getBytes(tokenizer);
        in.getFloats(parameters);
        in.getFloats(m);
        in.getFloats(v);
        in.getLongs(sampler);
        in.getBytes(extra);

        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        while (trailer.hasRemaining()) {
            if (channel.read(trailer, size - TRAILER_BYTES + trailer.position()) < 0) {
                throw new EOFException("no checksum");
            }
        }
        if (!in.exhausted() || trailer.getInt(0) != in.checksum()) {
            throw corrupt(file, "checksum mismatch", null);
        }
        Map<String, long[]> extraStates = decodeExtra(file, extra);
        return new Checkpoint(new String(config, StandardCharsets.UTF_8), parameters, m, v,
                optimizerStep, trainingStep, sampler, extraStates,
                new String(tokenizer, StandardCharsets.UTF_8));
    }

    private static long payloadBytes(long config, long tokenizer, long params, long samplerLongs,
            long extra) {
        return config + tokenizer + 3 * Float.BYTES * params + Long.BYTES * samplerLongs + extra;
    }

    private static byte[] encodeExtra(Map<String, long[]> states) {
        int bytes = Integer.BYTES;
        for (Map.Entry<String, long[]> entry : states.entrySet()) {
            bytes += 2 * Integer.BYTES + utf8(entry.getKey()).length
                    + Long.BYTES * entry.getValue().length;
        }
        ByteBuffer out = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(states.size());
        for (Map.Entry<String, long[]> entry : states.entrySet()) {
            byte[] name = utf8(entry.getKey());
            out.putInt(name.length).put(name).putInt(entry.getValue().length);
            for (long word : entry.getValue()) {
                out.putLong(word);
            }
        }
        return out.array();
    }

    private static Map<String, long[]> decodeExtra(Path file, byte[] bytes)
            throws CheckpointException {
        // The checksum matched, so malformed content here means a writer bug, not a bad disk;
        // still reported as corrupt, since the file cannot be used either way.
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            int count = in.getInt();
            Map<String, long[]> states = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                byte[] name = new byte[length(in, 1)];
                in.get(name);
                long[] state = new long[length(in, Long.BYTES)];
                in.asLongBuffer().get(state);
                in.position(in.position() + Long.BYTES * state.length);
                states.put(new String(name, StandardCharsets.UTF_8), state);
            }
            if (in.hasRemaining()) {
                throw new IllegalArgumentException("trailing bytes");
            }
            return states;
        } catch (RuntimeException e) {
            throw corrupt(file, "its generator states do not decode", e);
        }
    }

    // Reads an element count and checks that many elements fit in what is left.
    private static int length(ByteBuffer in, int elementBytes) {
        int count = in.getInt();
        if (count < 0 || (long) count * elementBytes > in.remaining()) {
            throw new IllegalArgumentException("length " + count + " overruns the section");
        }
        return count;
    }

    private static CheckpointException corrupt(Path file, String why, Throwable cause) {
        return new CheckpointException("checkpoint " + file + " is truncated or corrupt (" + why
                + "); delete it or resume from an earlier one", cause);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
