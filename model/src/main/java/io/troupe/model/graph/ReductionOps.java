package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** ReduceSum and ReduceMean (axes as an int64 input, as in opset 18+), and ReduceMax (no gradient). */
final class ReductionOps {
    private ReductionOps() {
    }

    static List<OpSpec> all() {
        return List.of(new Reduce("ReduceSum", false), new Reduce("ReduceMean", true), new ReduceMax());
    }

    /** The normalized, sorted reduction axes of a node or call (all axes when none given). */
    static int[] axes(Shape in, long[] given, boolean noopWithEmptyAxes) {
        if (given == null || given.length == 0) {
            if (noopWithEmptyAxes) {
                return new int[0];
            }
            int[] all = new int[in.rank()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            return all;
        }
        return Arrays.stream(given).mapToInt(a -> in.normalizeAxis((int) a)).distinct().sorted().toArray();
    }

    static Shape reducedShape(Shape in, int[] axes, boolean keepDims) {
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < in.rank(); i++) {
            boolean reduced = Arrays.binarySearch(axes, i) >= 0;
            if (!reduced) {
                out.add(in.dim(i));
            } else if (keepDims) {
                out.add(Dim.of(1));
            }
        }
        return new Shape(out);
    }

    static List<TensorType> inferReduce(OpCall call) {
        call.requireInputCount(1, 2);
        long[] given = null;
        if (call.input(1) != null) {
            given = call.constantLongs(1, "axes");
        }
        boolean keepDims = call.intAttr("keepdims", 1) != 0;
        boolean noop = call.intAttr("noop_with_empty_axes", 0) != 0;
        int[] axes = axes(call.input(0).shape(), given, noop);
        return List.of(new TensorType(call.input(0).dtype(), reducedShape(call.input(0).shape(), axes, keepDims)));
    }

    /** ReduceSum / ReduceMean: the gradient broadcasts back over the reduced axes. */
    static final class Reduce implements OpSpec {
        private final String opType;
        private final boolean mean;

        Reduce(String opType, boolean mean) {
            this.opType = opType;
            this.mean = mean;
        }

        @Override
        public String opType() {
            return opType;
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            return inferReduce(call);
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            Tensor x = node.input(0);
            long[] given = node.input(1) == null ? null : node.input(1).constant().longs();
            int[] axes = axes(x.shape(), given, node.intAttr("noop_with_empty_axes", 0) != 0);
            Tensor g = grads.get(0);
            if (node.intAttr("keepdims", 1) == 0 && axes.length > 0) {
                g = g.unsqueeze(Arrays.stream(axes).asLongStream().toArray());
            }
            if (mean) {
                long count = 1;
                for (int a : axes) {
                    Dim d = x.shape().dim(a);
                    if (!d.isStatic()) {
                        throw new GraphException("no gradient rule for " + node + " over the non-static axis " + a);
                    }
                    count *= d.size();
                }
                g = g.div((double) count);
            }
            Tensor shape = x.shape().isStatic() ? ctx.graph().longs(x.shape().sizes()) : x.shapeOf();
            return Arrays.asList(g.expand(shape), null);
        }
    }

    static final class ReduceMax extends NonDifferentiableOp {
        @Override
        public String opType() {
            return "ReduceMax";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            return inferReduce(call);
        }
    }
}
