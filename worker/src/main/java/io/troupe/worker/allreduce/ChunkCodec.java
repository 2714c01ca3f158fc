package io.troupe.worker.allreduce;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * Turns chunks of the float buffer into frames, and received payload back into sums or copies.
 * This is where the data plane spends its own CPU (the rest is the kernel's and Pekko IO's
 * copies), so every step is a bulk operation over small arrays that stay in L1:
 * <ul>
 *   <li>fp32 values move with buffer-to-buffer copies (memcpy: both sides are little-endian on
 *       x86 and ARM);</li>
 *   <li>bf16 conversion works on the floats' bit patterns as 32-bit ints, in loops of plain
 *       integer operations over contiguous arrays that the JIT vectorises; floats become ints and
 *       back through a scratch buffer's two views (a memcpy), not per value. See
 *       {@link WireFormat#BF16} for the layout that makes this possible.</li>
 * </ul>
 * Nothing is boxed and nothing is read one value at a time through a ByteBuffer.
 *
 * <p>Holds scratch blocks, so an instance belongs to one ring member's stage (one thread at a time).
 */
final class ChunkCodec {

    /** Values per pass: 4 KiB per scratch array, so that all of them stay in L1. */
    private static final int BLOCK = 1024;
    private static final int HIGH_HALF = 0xffff0000;

    private final float[] incoming = new float[BLOCK];
    private final float[] local = new float[BLOCK];
    private final int[] words = new int[BLOCK];
    private final int[] high = new int[BLOCK];
    private final int[] low = new int[BLOCK];
    /** Reinterprets floats as ints and back, with a memcpy each way. */
    private final ByteBuffer scratch = ByteBuffer.allocate(BLOCK * Float.BYTES).order(ByteOrder.nativeOrder());
    private final FloatBuffer scratchFloats = scratch.asFloatBuffer();
    private final IntBuffer scratchInts = scratch.asIntBuffer();

    // ---- control frames ----

    /** The handshake frame: who the sender is and the ring it believes it is in. */
    ByteString hello(WireFormat wire, int rank, int worldSize, int chunkElements) {
        FrameHeader header = new FrameHeader(FrameHeader.HELLO, wire, 0, 0, 0, 0, 0, 3);
        ByteBuffer out = allocate(header);
        header.write(out);
        out.putInt(rank).putInt(worldSize).putInt(chunkElements);
        return ByteString.fromArrayUnsafe(out.array());
    }

    /** The three ints of a hello frame's payload (little-endian, from index 0): rank, world size, chunk elements. */
    static int[] helloFields(ByteBuffer payload) {
        return new int[] {payload.getInt(0), payload.getInt(4), payload.getInt(8)};
    }

    /** An abort frame: the sender gave up, for {@code reason} (cut to what fits). */
    ByteString abort(String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, FrameHeader.MAX_CONTROL_PAYLOAD_BYTES);
        FrameHeader header = new FrameHeader(FrameHeader.ABORT, WireFormat.FP32, 0, 0, 0, 0, 0, length);
        ByteBuffer out = allocate(header);
        header.write(out);
        out.put(text, 0, length);
        return ByteString.fromArrayUnsafe(out.array());
    }

    /** The reason in an abort frame's payload. */
    static String abortReason(ByteBuffer payload) {
        byte[] text = new byte[payload.remaining()];
        payload.duplicate().get(text);
        return new String(text, StandardCharsets.UTF_8);
    }

    // ---- sending ----

    /** A data frame with the {@code header.count()} values of {@code buffer} from index {@code offset}. */
    ByteString data(FrameHeader header, FloatBuffer buffer, int offset) {
        ByteBuffer out = allocate(header);
        header.write(out);
        int count = header.count();
        if (header.wire() == WireFormat.FP32) {
            // One bulk copy from the (usually direct) buffer into the frame's byte[].
            out.asFloatBuffer().put(buffer.slice(offset, count));
        } else {
            encodeBf16(buffer, offset, count, out.asIntBuffer());
        }
        // The array is never written again, so the ByteString may share it instead of copying.
        return ByteString.fromArrayUnsafe(out.array());
    }

    private void encodeBf16(FloatBuffer buffer, int offset, int count, IntBuffer payload) {
        int half = count / 2;
        for (int done = 0; done < half; done += BLOCK) {
            int n = Math.min(BLOCK, half - done);
            roundedBits(buffer, offset + done, n, high);
            roundedBits(buffer, offset + half + done, n, low);
            for (int i = 0; i < n; i++) {
                words[i] = high[i] | (low[i] >>> 16);
            }
            payload.put(words, 0, n);
        }
        if (count % 2 == 1) {
            roundedBits(buffer, offset + count - 1, 1, high);
            payload.put(high[0]);
        }
    }

    /** {@code buffer[from, from+n)} rounded to bf16, as float32 bit patterns, into {@code bits}. */
    private void roundedBits(FloatBuffer buffer, int from, int n, int[] bits) {
        buffer.get(from, local, 0, n);
        scratchFloats.put(0, local, 0, n);
        scratchInts.get(0, bits, 0, n);
        roundToBf16(bits, n);
    }

    /**
     * Rounds float32 bit patterns to the nearest bf16, ties to even, keeping them as float32 bit
     * patterns (low 16 bits zero): {@link Bf16#fromFloat} without branches, so that it vectorises.
     */
    private static void roundToBf16(int[] bits, int n) {
        for (int i = 0; i < n; i++) {
            int b = bits[i];
            int rounded = (b + 0x7fff + ((b >>> 16) & 1)) & HIGH_HALF;
            // All ones for a NaN (magnitude above infinity's), which must stay a quiet NaN.
            int nan = (0x7f800000 - (b & 0x7fffffff)) >> 31;
            bits[i] = (rounded & ~nan) | ((b | 0x00400000) & HIGH_HALF & nan);
        }
    }

    // ---- receiving ----

    /**
     * Adds {@code units} units of a data frame, starting with unit {@code firstUnit}, into the
     * buffer whose value 0 of the frame sits at {@code frameOffset}. If {@code scale != 1} the sums
     * are multiplied by it, and if {@code roundToBf16} they are rounded to bf16 (so that the peer
     * that owns a segment keeps exactly the values it sends to the others).
     *
     * @param data little-endian, positioned at the first byte of unit {@code firstUnit}
     */
    void accumulate(FrameHeader header, ByteBuffer data, int firstUnit, int units, FloatBuffer buffer,
                    int frameOffset, float scale, boolean roundToBf16) {
        ByteBuffer payload = view(data);
        if (header.wire() == WireFormat.FP32) {
            FloatBuffer floats = payload.asFloatBuffer();
            for (int done = 0; done < units; done += BLOCK) {
                int n = Math.min(BLOCK, units - done);
                floats.get(done, incoming, 0, n);
                add(buffer, frameOffset + firstUnit + done, n, scale, roundToBf16);
            }
            return;
        }
        IntBuffer packed = payload.asIntBuffer();
        int half = header.count() / 2;
        for (int done = 0; done < units; done += BLOCK) {
            int n = Math.min(BLOCK, units - done);
            int word = firstUnit + done;
            packed.get(done, words, 0, n);
            int pairs = Math.max(0, Math.min(n, half - word));
            if (pairs > 0) {
                unpackHigh(pairs);
                add(buffer, frameOffset + word, pairs, scale, roundToBf16);
                unpackLow(pairs);
                add(buffer, frameOffset + half + word, pairs, scale, roundToBf16);
            }
            if (pairs < n) { // the odd value's word, always the frame's last
                incoming[0] = Float.intBitsToFloat(words[pairs] & HIGH_HALF);
                add(buffer, frameOffset + header.count() - 1, 1, scale, roundToBf16);
            }
        }
    }

    /** Overwrites the frame's values in the buffer with those of {@code units} units; see {@link #accumulate}. */
    void copy(FrameHeader header, ByteBuffer data, int firstUnit, int units, FloatBuffer buffer, int frameOffset) {
        ByteBuffer payload = view(data);
        if (header.wire() == WireFormat.FP32) {
            buffer.put(frameOffset + firstUnit, payload.asFloatBuffer(), 0, units);
            return;
        }
        IntBuffer packed = payload.asIntBuffer();
        int half = header.count() / 2;
        for (int done = 0; done < units; done += BLOCK) {
            int n = Math.min(BLOCK, units - done);
            int word = firstUnit + done;
            packed.get(done, words, 0, n);
            int pairs = Math.max(0, Math.min(n, half - word));
            if (pairs > 0) {
                unpackHigh(pairs);
                buffer.put(frameOffset + word, incoming, 0, pairs);
                unpackLow(pairs);
                buffer.put(frameOffset + half + word, incoming, 0, pairs);
            }
            if (pairs < n) {
                buffer.put(frameOffset + header.count() - 1, Float.intBitsToFloat(words[pairs] & HIGH_HALF));
            }
        }
    }

    /** The values in the upper halves of {@link #words} into {@link #incoming}. */
    private void unpackHigh(int n) {
        for (int i = 0; i < n; i++) {
            high[i] = words[i] & HIGH_HALF;
        }
        toFloats(high, n);
    }

    /** The values in the lower halves of {@link #words} into {@link #incoming}. */
    private void unpackLow(int n) {
        for (int i = 0; i < n; i++) {
            low[i] = words[i] << 16;
        }
        toFloats(low, n);
    }

    private void toFloats(int[] bits, int n) {
        scratchInts.put(0, bits, 0, n);
        scratchFloats.get(0, incoming, 0, n);
    }

    /** {@code buffer[at, at+n) += incoming[0, n)}, then scaled and rounded as asked. */
    private void add(FloatBuffer buffer, int at, int n, float scale, boolean roundToBf16) {
        buffer.get(at, local, 0, n);
        if (scale != 1f) {
            for (int i = 0; i < n; i++) {
                local[i] = (local[i] + incoming[i]) * scale;
            }
        } else {
            for (int i = 0; i < n; i++) {
                local[i] += incoming[i];
            }
        }
        if (roundToBf16) {
            scratchFloats.put(0, local, 0, n);
            scratchInts.get(0, high, 0, n);
            roundToBf16(high, n);
            scratchInts.put(0, high, 0, n);
            scratchFloats.get(0, local, 0, n);
        }
        buffer.put(at, local, 0, n);
    }

    /** {@code data} from its position on, little-endian; shares its bytes. */
    private static ByteBuffer view(ByteBuffer data) {
        // slice() forgets the byte order, so it is set again afterwards.
        return data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer allocate(FrameHeader header) {
        return ByteBuffer.allocate(FrameHeader.OVERHEAD_BYTES + header.payloadBytes()).order(ByteOrder.LITTLE_ENDIAN);
    }
}
