package io.troupe.model.io;

import java.util.Arrays;

/**
 * One tensor of a safetensors file, as its header describes it (already checked against the file).
 *
 * @param name the tensor's name, e.g. {@code h.0.attn.c_attn.weight}
 * @param dtype its element type
 * @param shape its dimensions (empty for a scalar)
 * @param begin first byte, relative to the start of the data section
 * @param end one past the last byte, relative to the start of the data section
 */
public record TensorEntry(String name, SafetensorsDtype dtype, long[] shape, long begin, long end) {

    /** Copies the shape. */
    public TensorEntry {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements (the product of the shape; 1 for a scalar). */
    public long elements() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** e.g. "F32 [16, 48]". */
    public String describe() {
        return dtype + " " + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorEntry e && name.equals(e.name) && dtype == e.dtype && Arrays.equals(shape, e.shape)
                && begin == e.begin && end == e.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
