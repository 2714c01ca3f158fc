package io.troupe.worker.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.zip.CRC32C;

/**
 * A flat float vector (all parameters, or all gradients, of a model: shape [P]) in native-order
 * direct memory, and the one place such vectors are copied between the forms they take: the
 * optimizer's {@code float[]}, the direct memory that ORT tensors wrap and the ring all-reduce
 * averages, and the arrays of a checkpoint. Every copy checks the length, so a buffer of another
 * model fails loudly instead of filling half a vector.
 *
 * <p>Not thread-safe; the step that owns it reads and writes it.
 */
public final class FlatBuffer {
    private final FloatBuffer floats;

    private FlatBuffer(FloatBuffer floats) {
        this.floats = floats;
    }

    /** A zeroed buffer of {@code length} floats. */
    public static FlatBuffer allocate(long length) {
        return new FlatBuffer(DirectBuffers.floats(length));
    }

    /** The number of floats. */
    public int length() {
        return floats.capacity();
    }

    /**
     * The memory as a buffer: a new view, position 0, limit {@link #length()}. Writes through it
     * change this buffer (ORT writes gradients, the ring writes the mean, here).
     */
    public FloatBuffer floats() {
        return floats.duplicate().clear();
    }

    /** Overwrites this buffer with {@code values}. */
    public FlatBuffer copyFrom(float[] values) {
        requireLength(values.length, "the source array");
        floats.put(0, values);
        return this;
    }

    /** Writes this buffer into {@code into}. */
    public void copyTo(float[] into) {
        requireLength(into.length, "the target array");
        floats.get(0, into);
    }

    /** Adds {@code weight} times this buffer to {@code into}, element by element. */
    public void addTo(float[] into, float weight) {
        requireLength(into.length, "the target array");
        for (int i = 0; i < into.length; i++) {
            into[i] += weight * floats.get(i);
        }
    }

    /**
     * Copies one flat array into another of the same length (a checkpoint's parameters or
     * moments into the optimizer's).
     *
     * @throws IllegalArgumentException if the lengths differ
     */
    public static void copy(float[] from, float[] into) {
        if (from.length != into.length) {
            throw new IllegalArgumentException("a flat buffer of " + from.length + " floats cannot fill one of "
                    + into.length + "; it belongs to another model config");
        }
        System.arraycopy(from, 0, into, 0, into.length);
    }

    /**
     * CRC32C of {@code values} as little-endian float bytes: the same on every machine for the
     * same bits, so workers compare parameters by it.
     */
    public static long checksum(float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(Math.multiplyExact(values.length, Float.BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        return crc.getValue();
    }

    private void requireLength(int length, String what) {
        if (length != length()) {
            throw new IllegalArgumentException(what + " holds " + length + " floats but the flat buffer holds "
                    + length() + "; it belongs to another model config");
        }
    }
}
