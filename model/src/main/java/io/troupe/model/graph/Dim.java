package io.troupe.model.graph;

/**
 * One tensor dimension: a fixed size, a named symbolic size (such as the batch {@code B}),
 * or unknown (produced by ops whose output size depends on runtime values).
 *
 * <p>Two symbolic dimensions are equal when their names are equal; shape inference uses this
 * to check broadcasting and matrix products over batch dimensions that are not fixed.
 */
public record Dim(long size, String symbol) {

    private static final Dim UNKNOWN = new Dim(-1, null);

    public Dim {
        if (size < -1) {
            throw new IllegalArgumentException("dimension size must be >= 0, got " + size);
        }
        if (size >= 0 && symbol != null) {
            throw new IllegalArgumentException("a dimension is either fixed or symbolic, not both");
        }
    }

    /** A fixed dimension. */
    public static Dim of(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("dimension size must be >= 0, got " + size);
        }
        return new Dim(size, null);
    }

    /** A named symbolic dimension such as "batch". */
    public static Dim symbol(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("symbolic dimension needs a name");
        }
        return new Dim(-1, name);
    }

    /** A dimension nothing is known about. */
    public static Dim unknown() {
        return UNKNOWN;
    }

    public boolean isStatic() {
        return size >= 0;
    }

    public boolean isSymbolic() {
        return symbol != null;
    }

    public boolean isUnknown() {
        return size < 0 && symbol == null;
    }

    /** True when both are known to be the same size (same fixed size or same symbol). */
    public boolean sameAs(Dim other) {
        if (isStatic() && other.isStatic()) {
            return size == other.size;
        }
        return symbol != null && symbol.equals(other.symbol);
    }

    /** True when it may be equal to {@code other} (an unknown dimension may be anything). */
    public boolean compatibleWith(Dim other) {
        return isUnknown() || other.isUnknown() || sameAs(other);
    }

    @Override
    public String toString() {
        return isStatic() ? Long.toString(size) : symbol != null ? symbol : "?";
    }
}
