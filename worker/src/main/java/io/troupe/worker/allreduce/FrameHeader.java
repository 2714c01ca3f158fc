package io.troupe.worker.allreduce;

import java.nio.ByteBuffer;

/**
 * The fixed header in front of every data-plane frame. All fields are little-endian, like the
 * float payload (so that on x86 and ARM the payload is copied, never byte-swapped):
 *
 * <pre>
 * offset size field
 *  0     4    length      bytes after this field (the Framing length prefix)
 *  4     4    magic       "TRAR"
 *  8     1    version     {@link #VERSION}
 *  9     1    kind        1 = hello, 2 = data, 3 = abort
 * 10     1    wire        0 = fp32, 1 = bf16
 * 11     1    reserved    0
 * 12     8    stepId      the all-reduce call this frame belongs to (0 in a hello)
 * 20     8    total       elements in the whole buffer being reduced (0 in a hello)
 * 28     4    phase       0 .. 2(N-1)-1
 * 32     4    segment     which of the N segments
 * 36     4    chunk       chunk index within the segment
 * 40     4    count       payload elements
 * 44          payload     data: count values in the wire format (see {@link WireFormat});
 *                         hello: 3 int32 (rank, worldSize, chunk elements);
 *                         abort: count bytes of UTF-8, why the sender gave up
 * </pre>
 *
 * Everything a receiver needs to check that a frame is the one it expects sits in the header, so
 * a frame from another step, phase or buffer size is rejected before its payload is touched.
 *
 * @param kind {@link #HELLO}, {@link #DATA} or {@link #ABORT}
 */
record FrameHeader(int kind, WireFormat wire, long stepId, long total, int phase, int segment, int chunk, int count) {

    /** Bytes of the length prefix. */
    static final int PREFIX_BYTES = 4;
    /** Bytes from the start of a frame to its payload. */
    static final int OVERHEAD_BYTES = 44;
    /** Bumped when the layout changes; peers of different versions refuse each other. */
    static final int VERSION = 1;
    /** The handshake a peer sends first on a new connection. */
    static final int HELLO = 1;
    /** A chunk of the buffer being reduced. */
    static final int DATA = 2;
    /** The sender failed and is closing the connection; the payload says why. */
    static final int ABORT = 3;
    /** The largest payload of a hello or abort frame. */
    static final int MAX_CONTROL_PAYLOAD_BYTES = 4096;

    private static final int MAGIC = 'T' | 'R' << 8 | 'A' << 16 | 'R' << 24;

    /** Bytes of the payload this header announces. */
    int payloadBytes() {
        return (int) payloadBytes(kind, wire, count);
    }

    private static long payloadBytes(int kind, WireFormat wire, long count) {
        return switch (kind) {
            case HELLO -> count * Integer.BYTES;
            case ABORT -> count;
            default -> (wire == WireFormat.FP32 ? count : (count + 1) / 2) * WireFormat.UNIT_BYTES;
        };
    }

    /** Whether this is a hello or an abort: a small frame read whole, not a chunk of values. */
    boolean isControl() {
        return kind != DATA;
    }

    /** Writes prefix and header at {@code out}'s position (little-endian), leaving it at the payload. */
    void write(ByteBuffer out) {
        out.putInt(OVERHEAD_BYTES - PREFIX_BYTES + payloadBytes());
        out.putInt(MAGIC);
        out.put((byte) VERSION);
        out.put((byte) kind);
        out.put((byte) wire.id());
        out.put((byte) 0);
        out.putLong(stepId);
        out.putLong(total);
        out.putInt(phase);
        out.putInt(segment);
        out.putInt(chunk);
        out.putInt(count);
    }

    /**
     * Reads the header at index 0 of {@code header} (at least {@link #OVERHEAD_BYTES} bytes,
     * little-endian) and checks that it is well formed: magic, version, known kind and wire
     * format, a length prefix that matches the announced payload, and a payload no larger than
     * {@code maxPayloadBytes} (data) or {@link #MAX_CONTROL_PAYLOAD_BYTES} (hello, abort).
     */
    static FrameHeader read(ByteBuffer header, int maxPayloadBytes) throws FrameException {
        if (header.getInt(4) != MAGIC) {
            throw new FrameException("not a Troupe all-reduce frame (bad magic 0x" + Integer.toHexString(header.getInt(4)) + ")");
        }
        int version = header.get(8);
        if (version != VERSION) {
            throw new FrameException("data-plane protocol version " + version + ", this Troupe speaks version " + VERSION);
        }
        int kind = header.get(9);
        if (kind != HELLO && kind != DATA && kind != ABORT) {
            throw new FrameException("unknown frame kind " + kind);
        }
        WireFormat wire = WireFormat.ofId(header.get(10));
        if (wire == null) {
            throw new FrameException("unknown wire format code " + header.get(10));
        }
        FrameHeader result = new FrameHeader(kind, wire, header.getLong(12), header.getLong(20),
                header.getInt(28), header.getInt(32), header.getInt(36), header.getInt(40));
        long payloadBytes = payloadBytes(kind, wire, result.count);
        int limit = kind == DATA ? maxPayloadBytes : MAX_CONTROL_PAYLOAD_BYTES;
        if (result.count < 0 || payloadBytes > limit) {
            throw new FrameException("frame announces " + result.count + " elements, at most "
                    + limit + " payload bytes are allowed");
        }
        int length = header.getInt(0);
        if (length != OVERHEAD_BYTES - PREFIX_BYTES + payloadBytes) {
            throw new FrameException("length prefix " + length + " does not match " + result.count + " elements");
        }
        return result;
    }
}
