package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Ops that move data without arithmetic: Reshape, Transpose, Slice, Split, Concat, (Un)Squeeze, Expand, Pad, Shape. */
final class ShapeOps {
    private ShapeOps() {
    }

    static List<OpSpec> all() {
        return List.of(new Reshape(), new Transpose(), new Slice(), new Split(), new Concat(), new Unsqueeze(),
                new Squeeze(), new Expand(), new Pad(), new ShapeOf(), new ConstantOfShape());
    }

    /** Reshape to x's shape, statically when it is known. */
    static Tensor reshapeLike(Tensor g, Tensor x) {
        return x.shape().isStatic() ? g.reshape(x.shape().sizes()) : g.reshape(x.shapeOf());
    }

    static final class Reshape implements OpSpec {
        @Override
        public String opType() {
            return "Reshape";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            Tensor data = call.input(0);
            if (call.input(1).dtype() != DType.INT64 || call.input(1).rank() != 1) {
                throw call.fail("a 1-D int64 shape as input 1");
            }
            long[] target = call.constantLongsOrNull(1);
            if (target == null) {
                Dim len = call.input(1).shape().dim(0);
                if (!len.isStatic()) {
                    throw call.fail("a shape input of known length");
                }
                return List.of(new TensorType(data.dtype(), Shape.unknownOfRank((int) len.size())));
            }
            return List.of(new TensorType(data.dtype(), resolve(call, data.shape(), target)));
        }

        private static Shape resolve(OpCall call, Shape in, long[] target) {
            Dim[] out = new Dim[target.length];
            int inferred = -1;
            for (int i = 0; i < target.length; i++) {
                long t = target[i];
                if (t == 0) {
                    if (i >= in.rank()) {
                        throw call.fail("a 0 (copy) entry only where the input has that axis");
                    }
                    out[i] = in.dim(i);
                } else if (t == -1) {
                    if (inferred >= 0) {
                        throw call.fail("at most one -1 in the target shape " + Arrays.toString(target));
                    }
                    inferred = i;
                } else if (t < -1) {
                    throw call.fail("target sizes >= -1, not " + Arrays.toString(target));
                } else {
                    out[i] = Dim.of(t);
                }
            }
            if (inferred >= 0) {
                out[inferred] = inferDim(in, out, inferred);
            }
            Shape result = new Shape(Arrays.asList(out));
            if (in.isStatic() && result.isStatic() && in.numel() != result.numel()) {
                throw call.fail("a target shape with " + in.numel() + " elements, not " + result);
            }
            if (inferred >= 0 && in.isStatic() && !result.isStatic()) {
                throw call.fail("a target shape whose -1 divides the input's " + in.numel() + " elements");
            }
            return result;
        }

        /** The -1 dimension: input elements divided by the other target dims, symbolically where needed. */
        private static Dim inferDim(Shape in, Dim[] out, int inferred) {
            long staticIn = 1;
            List<String> symbolsIn = new ArrayList<>();
            for (Dim d : in.dims()) {
                if (d.isStatic()) {
                    staticIn *= d.size();
                } else if (d.isSymbolic()) {
                    symbolsIn.add(d.symbol());
                } else {
                    return Dim.unknown();
                }
            }
            long staticOut = 1;
            for (int i = 0; i < out.length; i++) {
                if (i == inferred) {
                    continue;
                }
                Dim d = out[i];
                if (d.isStatic()) {
                    staticOut *= d.size();
                } else if (d.isSymbolic() && symbolsIn.remove(d.symbol())) {
                    continue;
                } else {
                    return Dim.unknown();
                }
            }
            if (staticOut == 0 || staticIn % staticOut != 0) {
                return Dim.unknown();
            }
            long factor = staticIn / staticOut;
            if (symbolsIn.isEmpty()) {
                return Dim.of(factor);
            }
            if (factor == 1 && symbolsIn.size() == 1) {
                return Dim.symbol(symbolsIn.get(0));
            }
            String name = String.join("*", symbolsIn) + (factor == 1 ? "" : "*" + factor);
            return Dim.symbol(name);
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            return Arrays.asList(reshapeLike(grads.get(0), node.input(0)), null);
        }
    }

    static final class Transpose implements OpSpec {
        @Override
        public String opType() {
            return "Transpose";
        }

        static long[] perm(Node node, int rank) {
            long[] perm = node.intsAttr("perm");
            return perm != null ? perm : reversed(rank);
        }

        private static long[] reversed(int rank) {
            long[] p = new long[rank];
            for (int i = 0; i < rank; i++) {
                p[i] = rank - 1 - i;
            }
            return p;
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 1);
            Shape in = call.input(0).shape();
            long[] perm = call.intsAttr("perm");
            if (perm == null) {
                perm = reversed(in.rank());
            }
            boolean[] seen = new boolean[in.rank()];
            if (perm.length != in.rank()) {
                throw call.fail("perm of length " + in.rank() + ", not " + Arrays.toString(perm));
            }
            List<Dim> out = new ArrayList<>();
            for (long p : perm) {
                if (p < 0 || p >= in.rank() || seen[(int) p]) {
                    throw call.fail("perm to be a permutation of 0.." + (in.rank() - 1) + ", not " + Arrays.toString(perm));
                }
                seen[(int) p] = true;
                out.add(in.dim((int) p));
            }
            return List.of(new TensorType(call.input(0).dtype(), new Shape(out)));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            long[] perm = perm(node, node.input(0).rank());
            long[] inverse = new long[perm.length];
            for (int i = 0; i < perm.length; i++) {
                inverse[(int) perm[i]] = i;
            }
            return List.of(grads.get(0).transpose(inverse));
        }
    }

    /** Slice(data, starts, ends, axes?, steps?). */
    static final class Slice implements OpSpec {
        @Override
        public String opType() {
            return "Slice";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(3, 5);
            Shape in = call.input(0).shape();
            long[] starts = call.constantLongsOrNull(1);
            long[] ends = call.constantLongsOrNull(2);
            long[] axes = call.input(3) == null ? null : call.constantLongsOrNull(3);
            long[] steps = call.input(4) == null ? null : call.constantLongsOrNull(4);
            int n = (int) call.input(1).shape().dim(0).size();
            if (axes == null && call.input(3) == null) {
                axes = new long[Math.max(n, 0)];
                for (int i = 0; i < axes.length; i++) {
                    axes[i] = i;
                }
            }
            List<Dim> out = new ArrayList<>(in.dims());
            if (axes == null) {
                return List.of(new TensorType(call.input(0).dtype(), Shape.unknownOfRank(in.rank())));
            }
            for (int i = 0; i < axes.length; i++) {
                int axis = in.normalizeAxis((int) axes[i]);
                Dim d = in.dim(axis);
                long step = steps == null ? 1 : steps[i];
                if (step == 0) {
                    throw call.fail("non-zero steps");
                }
                if (starts == null || ends == null || !d.isStatic()) {
                    out.set(axis, Dim.unknown());
                    continue;
                }
                long size = d.size();
                long s = clamp(starts[i] < 0 ? starts[i] + size : starts[i], step > 0 ? 0 : -1, step > 0 ? size : size - 1);
                long e = clamp(ends[i] < 0 ? ends[i] + size : ends[i], step > 0 ? 0 : -1, step > 0 ? size : size - 1);
                long len = step > 0 ? Math.max(0, (e - s + step - 1) / step) : Math.max(0, (s - e - step - 1) / -step);
                out.set(axis, Dim.of(len));
            }
            return List.of(new TensorType(call.input(0).dtype(), new Shape(out)));
        }

        private static long clamp(long v, long lo, long hi) {
            return Math.max(lo, Math.min(hi, v));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            // Unit-step slices of a static input: the gradient is the output gradient padded with zeros.
            Tensor x = node.input(0);
            Tensor y = node.output(0);
            long[] steps = node.input(4) == null ? null : constantOrNull(node.input(4));
            long[] starts = constantOrNull(node.input(1));
            long[] axes = node.input(3) == null ? null : constantOrNull(node.input(3));
            if (!x.shape().isStatic() || !y.shape().isStatic() || starts == null
                    || (node.input(3) != null && axes == null)
                    || (steps != null && Arrays.stream(steps).anyMatch(s -> s != 1))) {
                throw new GraphException("no gradient rule for " + node
                        + " unless its input shape is static and starts/axes are constants with step 1");
            }
            long[] xs = x.shape().sizes();
            long[] ys = y.shape().sizes();
            long[] pads = new long[2 * xs.length];
            for (int i = 0; i < starts.length; i++) {
                int axis = x.shape().normalizeAxis((int) (axes == null ? i : axes[i]));
                long s = starts[i] < 0 ? starts[i] + xs[axis] : starts[i];
                s = Math.max(0, Math.min(xs[axis], s));
                pads[axis] = s;
                pads[axis + xs.length] = xs[axis] - s - ys[axis];
            }
            Tensor padded = ctx.graph().apply("Pad", List.of(grads.get(0), ctx.graph().longs(pads)), Map.of());
            return Arrays.asList(padded, null, null, null, null);
        }

        private static long[] constantOrNull(Tensor t) {
            return t == null || t.constant() == null ? null : t.constant().longs();
        }
    }

    /** Split(input, split) along an axis into as many outputs as split has entries. */
    static final class Split implements OpSpec {
        @Override
        public String opType() {
            return "Split";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            Shape in = call.input(0).shape();
            int axis = in.normalizeAxis((int) call.intAttr("axis", 0));
            long[] sizes = call.constantLongs(1, "split sizes");
            if (sizes.length != call.outputCount()) {
                throw call.fail(sizes.length + " outputs for " + sizes.length + " split sizes, not " + call.outputCount());
            }
            long total = Arrays.stream(sizes).sum();
            if (in.dim(axis).isStatic() && in.dim(axis).size() != total) {
                throw call.fail("split sizes " + Arrays.toString(sizes) + " to add up to dimension " + in.dim(axis));
            }
            List<TensorType> out = new ArrayList<>();
            for (long s : sizes) {
                out.add(new TensorType(call.input(0).dtype(), in.with(axis, Dim.of(s))));
            }
            return out;
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            List<Tensor> parts = new ArrayList<>();
            for (int i = 0; i < grads.size(); i++) {
                parts.add(grads.get(i) != null ? grads.get(i) : ctx.zerosLike(node.output(i)));
            }
            return Arrays.asList(ctx.graph().concat(node.intAttr("axis", 0), parts), null);
        }
    }

    static final class Concat implements OpSpec {
        @Override
        public String opType() {
            return "Concat";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            if (call.inputs().isEmpty()) {
                throw call.fail("at least one input");
            }
            Shape first = call.input(0).shape();
            if (!call.attributes().containsKey("axis")) {
                throw call.fail("an axis attribute");
            }
            int axis = first.normalizeAxis((int) call.intAttr("axis", 0));
            long total = 0;
            boolean known = true;
            DType dtype = call.input(0).dtype();
            for (Tensor t : call.inputs()) {
                if (t.dtype() != dtype || t.rank() != first.rank()) {
                    throw call.fail("inputs of one dtype and rank");
                }
                for (int d = 0; d < first.rank(); d++) {
                    if (d != axis && !t.shape().dim(d).compatibleWith(first.dim(d))) {
                        throw call.fail("inputs that agree on every axis but " + axis);
                    }
                }
                Dim d = t.shape().dim(axis);
                if (d.isStatic()) {
                    total += d.size();
                } else {
                    known = false;
                }
            }
            return List.of(new TensorType(dtype, first.with(axis, known ? Dim.of(total) : Dim.unknown())));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            int axis = node.input(0).shape().normalizeAxis((int) node.intAttr("axis", 0));
            long[] sizes = new long[node.inputs().size()];
            for (int i = 0; i < sizes.length; i++) {
                Dim d = node.input(i).shape().dim(axis);
                if (!d.isStatic()) {
                    throw new GraphException("no gradient rule for " + node + " with a non-static concat axis");
                }
                sizes[i] = d.size();
            }
            if (sizes.length == 1) {
                return List.of(grads.get(0));
            }
            return grads.get(0).split(axis, sizes);
        }
    }

    static final class Unsqueeze implements OpSpec {
        @Override
        public String opType() {
            return "Unsqueeze";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            long[] axes = call.constantLongs(1, "axes");
            Shape in = call.input(0).shape();
            int rank = in.rank() + axes.length;
            boolean[] inserted = new boolean[rank];
            for (long a : axes) {
                int ax = (int) (a < 0 ? a + rank : a);
                if (ax < 0 || ax >= rank || inserted[ax]) {
                    throw call.fail("distinct axes within the output rank " + rank + ", not " + Arrays.toString(axes));
                }
                inserted[ax] = true;
            }
            List<Dim> out = new ArrayList<>();
            int j = 0;
            for (int i = 0; i < rank; i++) {
                out.add(inserted[i] ? Dim.of(1) : in.dim(j++));
            }
            return List.of(new TensorType(call.input(0).dtype(), new Shape(out)));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            return Arrays.asList(reshapeLike(grads.get(0), node.input(0)), null);
        }
    }

    static final class Squeeze implements OpSpec {
        @Override
        public String opType() {
            return "Squeeze";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            long[] axes = call.constantLongs(1, "axes");
            Shape in = call.input(0).shape();
            boolean[] drop = new boolean[in.rank()];
            for (long a : axes) {
                int ax = in.normalizeAxis((int) a);
                Dim d = in.dim(ax);
                if (d.isStatic() && d.size() != 1) {
                    throw call.fail("axis " + a + " to have size 1, not " + d);
                }
                drop[ax] = true;
            }
            List<Dim> out = new ArrayList<>();
            for (int i = 0; i < in.rank(); i++) {
                if (!drop[i]) {
                    out.add(in.dim(i));
                }
            }
            return List.of(new TensorType(call.input(0).dtype(), new Shape(out)));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            return Arrays.asList(reshapeLike(grads.get(0), node.input(0)), null);
        }
    }

    static final class Expand implements OpSpec {
        @Override
        public String opType() {
            return "Expand";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            long[] target = call.constantLongsOrNull(1);
            Shape in = call.input(0).shape();
            if (target == null) {
                Dim len = call.input(1).shape().dim(0);
                int rank = len.isStatic() ? (int) Math.max(len.size(), in.rank()) : in.rank();
                return List.of(new TensorType(call.input(0).dtype(), Shape.unknownOfRank(rank)));
            }
            Shape out = Shape.broadcast(in, Shape.of(target));
            if (out == null) {
                throw call.fail("a shape that " + in + " broadcasts to, not " + Arrays.toString(target));
            }
            return List.of(new TensorType(call.input(0).dtype(), out));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            return Arrays.asList(ctx.unbroadcast(grads.get(0), node.input(0)), null);
        }
    }

    /** Pad(data, pads, constant_value?) in constant mode; emitted by the Slice backward rule. */
    static final class Pad extends NonDifferentiableOp {
        @Override
        public String opType() {
            return "Pad";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 3);
            Shape in = call.input(0).shape();
            long[] pads = call.constantLongsOrNull(1);
            if (pads == null) {
                return List.of(new TensorType(call.input(0).dtype(), Shape.unknownOfRank(in.rank())));
            }
            if (pads.length != 2 * in.rank()) {
                throw call.fail(2 * in.rank() + " pads, not " + pads.length);
            }
            List<Dim> out = new ArrayList<>();
            for (int i = 0; i < in.rank(); i++) {
                Dim d = in.dim(i);
                out.add(d.isStatic() ? Dim.of(d.size() + pads[i] + pads[i + in.rank()]) : Dim.unknown());
            }
            return List.of(new TensorType(call.input(0).dtype(), new Shape(out)));
        }
    }

    /** Shape(x): the runtime shape as int64 [rank]. */
    static final class ShapeOf extends NonDifferentiableOp {
        @Override
        public String opType() {
            return "Shape";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 1);
            return List.of(new TensorType(DType.INT64, Shape.of(call.input(0).rank())));
        }
    }

    /** ConstantOfShape(shape) filled with the one-element 'value' attribute. */
    static final class ConstantOfShape extends NonDifferentiableOp {
        @Override
        public String opType() {
            return "ConstantOfShape";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 1);
            Object value = call.attributes().get("value");
            DType dtype = value instanceof TensorData t ? t.dtype() : DType.FLOAT;
            long[] shape = call.constantLongsOrNull(0);
            if (shape != null) {
                return List.of(new TensorType(dtype, Shape.of(shape)));
            }
            Dim len = call.input(0).shape().dim(0);
            if (!len.isStatic()) {
                throw call.fail("a shape input of known length");
            }
            return List.of(new TensorType(dtype, Shape.unknownOfRank((int) len.size())));
        }
    }
}
