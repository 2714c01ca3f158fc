package io.troupe.coordinator;

import org.apache.pekko.util.ByteString;

/**
 * Follows the inbound byte stream of one Artery TCP connection (Pekko 1.7.0's framing: the magic
 * "AKKA", a stream id byte, then frames of a little-endian int32 length and that many bytes) and
 * refuses the first frame whose declared length is negative or above the maximum frame size,
 * before a byte of it is buffered. Pekko's own framing reads the length and waits for that many
 * bytes without comparing (see docs/ARCHITECTURE.md), so a lying header would make the node hold
 * whatever the sender streams. The bytes themselves pass through unchanged; this only counts.
 */
final class ArteryFrameCheck {
    private static final byte[] MAGIC = {'A', 'K', 'K', 'A'};
    private static final int CONNECTION_HEADER = MAGIC.length + 1;
    /** Artery's stream id of the large-message stream, whose frames may reach {@code maximum-large-frame-size}. */
    private static final int LARGE_STREAM = 3;

    private final int maxLargeFrameBytes;
    private int maxFrameBytes;
    private int headerSeen;
    private int lengthBytesSeen;
    private int length;
    private long payloadLeft;

    /** @param maxFrameBytes Artery's {@code maximum-frame-size}, the largest length a frame may declare */
    ArteryFrameCheck(int maxFrameBytes) {
        this(maxFrameBytes, maxFrameBytes);
    }

    /**
     * @param maxFrameBytes Artery's {@code maximum-frame-size}
     * @param maxLargeFrameBytes its {@code maximum-large-frame-size}, the bound on the large-message stream
     */
    ArteryFrameCheck(int maxFrameBytes, int maxLargeFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
        this.maxLargeFrameBytes = maxLargeFrameBytes;
    }

    /** Thrown for a stream that is not Artery's framing or declares a frame above the maximum. */
    static final class FrameRefused extends RuntimeException {
        FrameRefused(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Accounts for the next chunk of the stream and returns it unchanged.
     *
     * @throws FrameRefused when the chunk starts a frame longer than the maximum or the stream is
     *     not Artery's
     */
    ByteString pass(ByteString chunk) {
        int i = 0;
        int n = chunk.size();
        while (i < n) {
            if (headerSeen < CONNECTION_HEADER) {
                if (headerSeen < MAGIC.length && chunk.apply(i) != MAGIC[headerSeen]) {
                    throw new FrameRefused("not an Artery connection (bad magic)");
                }
                if (headerSeen == MAGIC.length && chunk.apply(i) == LARGE_STREAM) {
                    maxFrameBytes = Math.max(maxFrameBytes, maxLargeFrameBytes);
                }
                headerSeen++;
                i++;
            } else if (payloadLeft > 0) {
                int skip = (int) Math.min(payloadLeft, n - i);
                payloadLeft -= skip;
                i += skip;
            } else {
                length |= (chunk.apply(i) & 0xff) << (8 * lengthBytesSeen);
                lengthBytesSeen++;
                i++;
                if (lengthBytesSeen == Integer.BYTES) {
                    if (length < 0 || length > maxFrameBytes) {
                        throw new FrameRefused("a frame declares " + Integer.toUnsignedString(length)
                                + " bytes, above the maximum frame size of " + maxFrameBytes);
                    }
                    payloadLeft = length;
                    length = 0;
                    lengthBytesSeen = 0;
                }
            }
        }
        return chunk;
    }
}
