package io.troupe.worker.allreduce;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Splits the byte stream from the predecessor into frames as the bytes arrive, without first
 * gathering a frame in one array: a frame's values are handed on in runs of whole 4-byte units,
 * straight from the received network buffers. Pekko's {@code Framing.lengthField} would copy
 * every frame once more (and allocate for it); on a data plane that moves hundreds of MB/s on two
 * cores, that copy was measurable.
 *
 * <p>The length prefix and header are checked before any payload byte is used, and the reader
 * stops at a frame boundary whenever its listener says so, leaving the rest of the bytes for
 * later (they belong to a step the caller has not started yet).
 */
final class FrameReader {

    /** What the reader reports, in stream order. */
    interface Listener {
        /** A hello or abort frame, with its whole (small) payload. */
        void control(FrameHeader header, ByteBuffer payload) throws FrameException;

        /** The header of a data frame, before any of its values. */
        void dataHeader(FrameHeader header) throws FrameException;

        /**
         * {@code count} 4-byte units of the current data frame's payload, starting with unit
         * {@code first} (a unit is one fp32 value or a pair of bf16 values, see {@link WireFormat});
         * {@code data} is little-endian and positioned at the first byte of unit {@code first}.
         */
        void values(FrameHeader header, ByteBuffer data, int first, int count);

        /** The end of a frame; returns whether the reader may go on to the next one now. */
        boolean frameEnd(FrameHeader header);
    }

    private static final int HELLO_PAYLOAD_BYTES = 3 * Integer.BYTES;

    private final int maxPayloadBytes;
    private final ByteBuffer header = ByteBuffer.allocate(FrameHeader.OVERHEAD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer smallPayload = ByteBuffer.allocate(FrameHeader.MAX_CONTROL_PAYLOAD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    /** The bytes of one unit split across two network buffers. */
    private final ByteBuffer carry = ByteBuffer.allocate(WireFormat.UNIT_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private FrameHeader current;
    /** Units of the current data frame's payload, and how many have been handed on. */
    private int units;
    private int unitsDone;

    FrameReader(int maxPayloadBytes) {
        this.maxPayloadBytes = maxPayloadBytes;
    }

    /** Whether the reader is between frames (not in the middle of a header or payload). */
    boolean atFrameBoundary() {
        return current == null && header.position() == 0;
    }

    /**
     * Consumes bytes of {@code input} (advancing its position) until it is empty, or a frame ended
     * and the listener did not want the next one yet.
     */
    void read(ByteBuffer input, Listener listener) throws FrameException {
        input.order(ByteOrder.LITTLE_ENDIAN);
        while (input.hasRemaining()) {
            if (current == null) {
                if (!readHeader(input, listener)) {
                    return; // the header is incomplete, or a frame without payload ended the read
                }
            } else if (current.isControl()) {
                transfer(input, smallPayload);
                if (smallPayload.hasRemaining()) {
                    return;
                }
                listener.control(current, smallPayload.flip());
                smallPayload.clear();
                if (!endFrame(listener)) {
                    return;
                }
            } else {
                readValues(input, listener);
            }
            if (current != null && current.kind() == FrameHeader.DATA && unitsDone == units
                    && !endFrame(listener)) {
                return;
            }
        }
    }

    private boolean readHeader(ByteBuffer input, Listener listener) throws FrameException {
        transfer(input, header);
        if (header.hasRemaining()) {
            return false;
        }
        FrameHeader next = FrameHeader.read(header, maxPayloadBytes);
        header.clear();
        if (next.kind() == FrameHeader.HELLO && next.count() * Integer.BYTES != HELLO_PAYLOAD_BYTES) {
            throw new FrameException("a handshake carries 3 ints, this one announces " + next.count());
        }
        current = next;
        unitsDone = 0;
        if (next.isControl()) {
            smallPayload.clear().limit(next.payloadBytes());
            if (next.payloadBytes() == 0) {
                listener.control(next, smallPayload);
                return endFrame(listener);
            }
        } else {
            units = next.wire().units(next.count());
            listener.dataHeader(next);
        }
        return true;
    }

    private void readValues(ByteBuffer input, Listener listener) {
        int width = WireFormat.UNIT_BYTES;
        if (carry.position() > 0) {
            transfer(input, carry);
            if (carry.hasRemaining()) {
                return;
            }
            listener.values(current, carry.flip(), unitsDone, 1);
            carry.clear();
            unitsDone++;
        }
        int whole = Math.min(input.remaining() / width, units - unitsDone);
        if (whole > 0) {
            int start = input.position();
            listener.values(current, input, unitsDone, whole);
            input.position(start + whole * width);
            unitsDone += whole;
        }
        if (unitsDone < units && input.hasRemaining()) {
            // Less than one unit left in this buffer: keep its bytes for the next one.
            transfer(input, carry);
        }
    }

    private boolean endFrame(Listener listener) {
        FrameHeader ended = current;
        current = null;
        return listener.frameEnd(ended);
    }

    /** Moves as many bytes as fit from {@code from} to {@code to}. */
    private static void transfer(ByteBuffer from, ByteBuffer to) {
        int n = Math.min(from.remaining(), to.remaining());
        int limit = from.limit();
        from.limit(from.position() + n);
        to.put(from);
        from.limit(limit);
    }
}
