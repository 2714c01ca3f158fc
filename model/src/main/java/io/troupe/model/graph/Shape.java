package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** An immutable tensor shape; each dimension is fixed, symbolic or unknown. */
public record Shape(List<Dim> dims) {

    public Shape {
        dims = List.copyOf(dims);
    }

    /** A fully static shape. */
    public static Shape of(long... sizes) {
        List<Dim> dims = new ArrayList<>(sizes.length);
        for (long s : sizes) {
            dims.add(Dim.of(s));
        }
        return new Shape(dims);
    }

    /** A shape from a mix of {@link Long}/{@link Integer} sizes and {@link String} symbols. */
    public static Shape mixed(Object... dims) {
        List<Dim> out = new ArrayList<>(dims.length);
        for (Object d : dims) {
            if (d instanceof Number n) {
                out.add(Dim.of(n.longValue()));
            } else if (d instanceof String s) {
                out.add(Dim.symbol(s));
            } else if (d instanceof Dim dim) {
                out.add(dim);
            } else {
                throw new IllegalArgumentException("dimension must be a number, a symbol name or a Dim: " + d);
            }
        }
        return new Shape(out);
    }

    /** A scalar (rank 0). */
    public static Shape scalar() {
        return new Shape(List.of());
    }

    /** A shape of the given rank with every dimension unknown. */
    public static Shape unknownOfRank(int rank) {
        List<Dim> dims = new ArrayList<>(rank);
        for (int i = 0; i < rank; i++) {
            dims.add(Dim.unknown());
        }
        return new Shape(dims);
    }

    public int rank() {
        return dims.size();
    }

    public Dim dim(int axis) {
        return dims.get(normalizeAxis(axis));
    }

    /** Maps a possibly negative axis into [0, rank); rejects out-of-range axes. */
    public int normalizeAxis(int axis) {
        int r = rank();
        int a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for rank-" + r + " shape " + this);
        }
        return a;
    }

    public boolean isStatic() {
        return dims.stream().allMatch(Dim::isStatic);
    }

    /** The fixed sizes; fails when a dimension is not fixed. */
    public long[] sizes() {
        long[] out = new long[rank()];
        for (int i = 0; i < out.length; i++) {
            Dim d = dims.get(i);
            if (!d.isStatic()) {
                throw new IllegalStateException("shape " + this + " is not static");
            }
            out[i] = d.size();
        }
        return out;
    }

    /** Number of elements; fails when the shape is not static. */
    public long numel() {
        return Arrays.stream(sizes()).reduce(1, Math::multiplyExact);
    }

    /** True when both shapes are known to be the same, dimension by dimension. */
    public boolean sameAs(Shape other) {
        if (rank() != other.rank()) {
            return false;
        }
        for (int i = 0; i < rank(); i++) {
            if (!dims.get(i).sameAs(other.dims.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** Like {@link #sameAs} but tolerant of unknown dimensions. */
    public boolean compatibleWith(Shape other) {
        if (rank() != other.rank()) {
            return false;
        }
        for (int i = 0; i < rank(); i++) {
            if (!dims.get(i).compatibleWith(other.dims.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** The sub-shape [from, to). */
    public Shape slice(int from, int to) {
        return new Shape(dims.subList(from, to));
    }

    /** This shape with one dimension replaced. */
    public Shape with(int axis, Dim dim) {
        List<Dim> out = new ArrayList<>(dims);
        out.set(normalizeAxis(axis), dim);
        return new Shape(out);
    }

    /** Concatenation of two shapes. */
    public Shape concat(Shape tail) {
        List<Dim> out = new ArrayList<>(dims);
        out.addAll(tail.dims);
        return new Shape(out);
    }

    /**
     * Numpy-style broadcast of two shapes, or null when they cannot be broadcast. Unknown
     * dimensions broadcast optimistically; the runtime checks them.
     */
    public static Shape broadcast(Shape a, Shape b) {
        int rank = Math.max(a.rank(), b.rank());
        Dim[] out = new Dim[rank];
        for (int i = 0; i < rank; i++) {
            int ia = a.rank() - rank + i;
            int ib = b.rank() - rank + i;
            Dim da = ia >= 0 ? a.dims.get(ia) : Dim.of(1);
            Dim db = ib >= 0 ? b.dims.get(ib) : Dim.of(1);
            if (da.sameAs(db)) {
                out[i] = da;
            } else if (da.isStatic() && da.size() == 1) {
                out[i] = db;
            } else if (db.isStatic() && db.size() == 1) {
                out[i] = da;
            } else if (da.isUnknown()) {
                out[i] = db;
            } else if (db.isUnknown()) {
                out[i] = da;
            } else {
                return null;
            }
        }
        return new Shape(Arrays.asList(out));
    }

    @Override
    public String toString() {
        return dims.stream().map(Dim::toString).collect(Collectors.joining(",", "[", "]"));
    }
}
