package io.troupe.worker.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;

/**
 * Allocates the zeroed, native-order direct buffers that ONNX Runtime tensors can wrap without
 * copying. ORT reads a direct buffer's memory as-is, so a buffer in the wrong byte order would not
 * fail; it would silently feed byte-swapped numbers.
 */
final class DirectBuffers {

    private DirectBuffers() {}

    /** A direct buffer of {@code count} floats, all zero. */
    static FloatBuffer floats(long count) {
        return bytes(count, Float.BYTES).asFloatBuffer();
    }

    /** A direct buffer of {@code count} longs, all zero. */
    static LongBuffer longs(long count) {
        return bytes(count, Long.BYTES).asLongBuffer();
    }

    private static ByteBuffer bytes(long count, int width) {
        long bytes = Math.multiplyExact(count, (long) width);
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a direct buffer holds at most " + Integer.MAX_VALUE + " bytes; "
                    + count + " elements need " + bytes);
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }
}
