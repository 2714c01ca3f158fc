package io.troupe.worker.engine;

import java.util.Arrays;
import java.util.Objects;

/**
 * One named parameter tensor inside a flat float buffer: {@code numel()} floats starting at
 * {@code offset}, in row-major order with the given shape.
 *
 * @param name the parameter's name, which is also the name of its graph input (e.g. {@code wte})
 * @param offset index of the first float in the flat buffer
 * @param shape the tensor's dimensions; an empty shape is a scalar
 */
public record ParamView(String name, long offset, long[] shape) {

    /** @throws IllegalArgumentException for an empty name, a negative offset or a dimension below 1 */
    public ParamView {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, "shape");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("parameter name must not be empty");
        }
        if (offset < 0) {
            throw new IllegalArgumentException("parameter '" + name + "' has negative offset " + offset);
        }
        shape = shape.clone();
        for (long dim : shape) {
            // A parameter with no elements can only come from a bug in whatever built the layout.
            if (dim < 1) {
                throw new IllegalArgumentException(
                        "parameter '" + name + "' has a dimension < 1: " + Arrays.toString(shape));
            }
        }
        numel(shape); // throws ArithmeticException if the element count overflows a long
    }

    /** The shape; a copy, so callers cannot change this view. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of floats this parameter holds (1 for a scalar). */
    public long numel() {
        return numel(shape);
    }

    /** One past the index of the last float: {@code offset + numel()}. */
    public long end() {
        return Math.addExact(offset, numel());
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long dim : shape) {
            n = Math.multiplyExact(n, dim);
        }
        return n;
    }

    // Records compare arrays by identity; a view is a value, so compare the shape's contents.
    @Override
    public boolean equals(Object other) {
        return other instanceof ParamView that
                && name.equals(that.name)
                && offset == that.offset
                && Arrays.equals(shape, that.shape);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, offset, Arrays.hashCode(shape));
    }

    @Override
    public String toString() {
        return name + "@" + offset + Arrays.toString(shape);
    }
}
