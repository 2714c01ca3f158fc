package io.troupe.worker.checkpoint;

import io.troupe.errors.TroupeException.Kind;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

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
 *  52  flags                      int32  bit 0: signed (other bits 0)
 *  56  payload length             int64  C + K + 12P + 8S + E
 * payload
 *   config (C), tokenizer (K), parameters (4P), AdamW m (4P), AdamW v (4P),
 *   sampler state (8S), extra states (E: int32 count, then per entry int32 name length,
 *   UTF-8 name, int32 state length, int64 words)
 * trailer
 *   CRC32C of header and payload  uint32
 *   HMAC-SHA256 of header and payload, 32 bytes, only if signed
 * </pre>
 *
 * <p>Signing ({@link CheckpointKey}) answers the attacker the CRC does not: anyone can alter a
 * payload and recompute a CRC, but not the HMAC without the cluster key. The signed flag is
 * inside the signed header; a reader with a key refuses an unsigned checkpoint, so clearing the
 * flag (and dropping the signature) does not get a forgery past it. A reader without a key still
 * reads a signed checkpoint, checking only its CRC.
 *
 * <p>CRC32C rather than SHA-256: the threat is a torn write or a flipped bit, not an attacker,
 * and CRC32C runs at memory speed on CPUs with the CRC instruction, where SHA-256 would add
 * seconds to every checkpoint of a large model.
 *
 * <p>One encoder and one decoder, written against channels, serve files ({@link #write},
 * {@link #read}) and peers' streams and byte arrays alike ({@link CheckpointCodec}), so that a
 * checkpoint sent over the network is bit for bit the file it would have been.
 */
final class CheckpointFile {

    static final byte[] MAGIC = "TROUPECK".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int HEADER_BYTES = 64;
    static final int TRAILER_BYTES = Integer.BYTES;
    /** The header's flags bit saying an HMAC follows the CRC. */
    static final int FLAG_SIGNED = 1;

    private static final int BUFFER_BYTES = 1 << 20;
    /** The largest array a JVM allocates (a few bytes under Integer.MAX_VALUE). */
    private static final long MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;

    private CheckpointFile() {
    }

    /** Writes {@code checkpoint} from the channel's current position, signed if a key is given. */
    static void write(Checkpoint checkpoint, WritableByteChannel channel, Optional<CheckpointKey> key)
            throws IOException {
        Sections.of(checkpoint, key).writeTo(channel);
    }

    /**
     * The bytes of {@code checkpoint} exactly as {@link #write} puts them in a file.
     *
     * @throws IllegalArgumentException if the encoding exceeds the 2 GiB an array can hold
     */
    static byte[] encode(Checkpoint checkpoint, Optional<CheckpointKey> key) {
        Sections sections = Sections.of(checkpoint, key);
        long size = sections.encodedBytes();
        if (size > MAX_ARRAY_BYTES) {
            throw new IllegalArgumentException("a checkpoint of " + checkpoint.parameters().length
                    + " parameters encodes to " + size + " bytes, more than one array holds;"
                    + " write it to a file or channel instead");
        }
        byte[] bytes = new byte[(int) size];
        try {
            sections.writeTo(new BufferChannel(ByteBuffer.wrap(bytes)));
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return bytes;
    }

    /**
     * Reads and verifies a checkpoint file.
     *
     * @throws CheckpointException if the file is missing, unreadable, not a checkpoint, of
     *     another format version, truncated or corrupt
     */
    static Checkpoint read(Path file, Optional<CheckpointKey> key) throws CheckpointException {
        CheckpointOrigin origin = CheckpointOrigin.file(file);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return decode(channel, channel.size(), origin, key);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("checkpoint " + file + " does not exist; list the run's"
                    + " checkpoints directory for the ones there are", e);
        } catch (EOFException e) {
            throw origin.corrupt("it ends early", e);
        } catch (IOException e) {
            throw new CheckpointException(Kind.IO, "cannot read checkpoint " + file + ": " + e
                    + "; check the file's permissions and the disk", e);
        }
    }

    /**
     * Reads and verifies the {@code size} bytes of one encoded checkpoint from {@code channel}'s
     * current position, sequentially, holding at most one buffer of them at a time.
     *
     * @throws EOFException if the channel ends before {@code size} bytes
     * @throws IOException if the channel fails
     * @param key the cluster key: given, the checkpoint must be signed with it
     * @throws CheckpointException if the bytes are not a checkpoint, of another format version,
     *     truncated or corrupt, or (with a key) unsigned or signed otherwise; the message names
     *     {@code origin}
     */
    static Checkpoint decode(ReadableByteChannel channel, long size, CheckpointOrigin origin,
            Optional<CheckpointKey> key) throws IOException, CheckpointException {
        if (size < HEADER_BYTES + TRAILER_BYTES) {
            throw origin.corrupt("it has only " + size + " bytes", null);
        }
        // The input covers the header first, and the payload once the header has told how long
        // it is and whether a signature follows the CRC: the trailer is never read as data.
        ChecksummedInput in = new ChecksummedInput(channel, HEADER_BYTES, BUFFER_BYTES,
                key.map(CheckpointKey::newMac).orElse(null));
        byte[] magic = new byte[MAGIC.length];
        in.getBytes(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new CheckpointException(origin.name() + " is not a Troupe checkpoint (its first"
                    + " bytes are not \"TROUPECK\"); " + origin.ifForeign());
        }
        int version = in.getInt();
        if (version != VERSION) {
            throw new CheckpointException(origin.name() + " has format version " + version
                    + " but this build reads version " + VERSION + "; " + origin.ifOtherVersion());
        }
        int headerBytes = in.getInt();
        long trainingStep = in.getLong();
        long optimizerStep = in.getLong();
        int configBytes = in.getInt();
        int tokenizerBytes = in.getInt();
        int params = in.getInt();
        int samplerLongs = in.getInt();
        int extraBytes = in.getInt();
        int flags = in.getInt();
        long declaredPayload = in.getLong();
        if (headerBytes != HEADER_BYTES || trainingStep < 0 || optimizerStep < 0
                || configBytes < 0 || tokenizerBytes < 0 || params < 0 || samplerLongs < 0
                || extraBytes < 0 || (flags & ~FLAG_SIGNED) != 0) {
            throw origin.corrupt("its header holds impossible values", null);
        }
        boolean signed = (flags & FLAG_SIGNED) != 0;
        if (key.isPresent() && !signed) {
            throw new CheckpointException(origin.name() + " is unsigned but this process checks"
                    + " checkpoints with a cluster key, so it is refused; " + origin.ifUnsigned());
        }
        long payload = payloadBytes(configBytes, tokenizerBytes, params, samplerLongs, extraBytes);
        if (payload != declaredPayload) {
            throw origin.corrupt("its header's lengths disagree", null);
        }
        int signatureBytes = signed ? CheckpointKey.SIGNATURE_BYTES : 0;
        long expectedSize = HEADER_BYTES + payload + TRAILER_BYTES + signatureBytes;
        if (size != expectedSize) {
            throw origin.corrupt("it has " + size + " bytes where its header promises "
                    + expectedSize, null);
        }
        in.extend(payload);

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

        // The trailer follows the checksummed bytes, which the input never reads past.
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES + signatureBytes)
                .order(ByteOrder.LITTLE_ENDIAN);
        while (trailer.hasRemaining()) {
            if (channel.read(trailer) < 0) {
                throw new EOFException("no checksum");
            }
        }
        if (!in.exhausted() || trailer.getInt(0) != in.checksum()) {
            throw origin.corrupt("checksum mismatch", null);
        }
        if (key.isPresent()) {
            byte[] stored = Arrays.copyOfRange(trailer.array(), TRAILER_BYTES,
                    TRAILER_BYTES + signatureBytes);
            if (!MessageDigest.isEqual(stored, in.signature())) {
                throw new CheckpointException(origin.name() + " fails its signature check: it was"
                        + " altered after it was written, or signed with another cluster key, so it"
                        + " is refused; " + origin.ifForged());
            }
        }
        Map<String, long[]> extraStates = decodeExtra(origin, extra);
        return new Checkpoint(new String(config, StandardCharsets.UTF_8), parameters, m, v,
                optimizerStep, trainingStep, sampler, extraStates,
                new String(tokenizer, StandardCharsets.UTF_8));
    }

    /**
     * The training step in the header of encoded checkpoint bytes, without decoding the rest.
     *
     * @throws IllegalArgumentException if the bytes do not start with a checkpoint header of
     *     this format version
     */
    static long trainingStep(byte[] encoded) {
        ByteBuffer header = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
        if (encoded.length < HEADER_BYTES + TRAILER_BYTES
                || !Arrays.equals(encoded, 0, MAGIC.length, MAGIC, 0, MAGIC.length)
                || header.getInt(8) != VERSION) {
            throw new IllegalArgumentException("the bytes are not an encoded checkpoint of format"
                    + " version " + VERSION + "; encode it with CheckpointCodec.encode");
        }
        return header.getLong(16);
    }

    /** A checkpoint with its variable-length sections encoded, so its size is known before writing. */
    private record Sections(Checkpoint checkpoint, byte[] config, byte[] tokenizer, byte[] extra,
            Optional<CheckpointKey> key) {

        static Sections of(Checkpoint checkpoint, Optional<CheckpointKey> key) {
            return new Sections(checkpoint, utf8(checkpoint.config()),
                    utf8(checkpoint.tokenizer()), encodeExtra(checkpoint.extraRngState()), key);
        }

        long payloadBytes() {
            return CheckpointFile.payloadBytes(config.length, tokenizer.length,
                    checkpoint.parameters().length, checkpoint.samplerState().length, extra.length);
        }

        long encodedBytes() {
            return HEADER_BYTES + payloadBytes() + TRAILER_BYTES
                    + (key.isPresent() ? CheckpointKey.SIGNATURE_BYTES : 0);
        }

        void writeTo(WritableByteChannel channel) throws IOException {
            long[] sampler = checkpoint.samplerState();
            ChecksummedOutput out = new ChecksummedOutput(channel, BUFFER_BYTES,
                    key.map(CheckpointKey::newMac).orElse(null));
            out.putBytes(MAGIC);
            out.putInt(VERSION);
            out.putInt(HEADER_BYTES);
            out.putLong(checkpoint.trainingStep());
            out.putLong(checkpoint.optimizerStep());
            out.putInt(config.length);
            out.putInt(tokenizer.length);
            out.putInt(checkpoint.parameters().length);
            out.putInt(sampler.length);
            out.putInt(extra.length);
            out.putInt(key.isPresent() ? FLAG_SIGNED : 0);
            out.putLong(payloadBytes());
            out.putBytes(config);
            out.putBytes(tokenizer);
            out.putFloats(checkpoint.parameters());
            out.putFloats(checkpoint.adamM());
            out.putFloats(checkpoint.adamV());
            out.putLongs(sampler);
            out.putBytes(extra);
            out.finishWithChecksum();
        }
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

    private static Map<String, long[]> decodeExtra(CheckpointOrigin origin, byte[] bytes)
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
            throw origin.corrupt("its generator states do not decode", e);
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

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
