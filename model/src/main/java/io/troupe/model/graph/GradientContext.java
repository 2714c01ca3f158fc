package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.List;

/**
 * What backward rules build with: the graph, plus the helpers most rules need, such as
 * summing a gradient over the axes an input was broadcast along.
 */
public final class GradientContext {
    private final Graph graph;

    GradientContext(Graph graph) {
        this.graph = graph;
    }

    public Graph graph() {
        return graph;
    }

    /** A scalar constant of the same dtype as {@code like}. */
    public Tensor scalar(Tensor like, double value) {
        return graph.scalar(like.dtype(), value);
    }

    /** Zeros with the runtime shape and the dtype of {@code like}. */
    public Tensor zerosLike(Tensor like) {
        TensorData zero = switch (like.dtype()) {
            case FLOAT -> TensorData.ofFloats(new float[] {0f}, 1);
            case DOUBLE -> TensorData.ofDoubles(new double[] {0.0}, 1);
            case FLOAT16 -> TensorData.ofHalfs(new short[] {0}, 1);
            default -> throw new GraphException("zeros of dtype " + like.dtype().onnxName() + " are not supported");
        };
        Tensor shape = like.shape().isStatic() ? graph.longs(like.shape().sizes()) : like.shapeOf();
        return graph.apply("ConstantOfShape", List.of(shape), java.util.Map.of("value", zero));
    }

    /**
     * Reduces {@code grad} (shaped like a broadcast result) back to the shape of {@code input}:
     * sums over the leading axes the input lacked and over the axes where it had size 1.
     */
    public Tensor unbroadcast(Tensor grad, Tensor input) {
        Shape gs = grad.shape();
        Shape is = input.shape();
        if (gs.sameAs(is)) {
            return grad;
        }
        int lead = gs.rank() - is.rank();
        if (lead < 0) {
            throw new GraphException("cannot reduce gradient " + grad + " to the larger input " + input);
        }
        List<Long> axes = new ArrayList<>();
        for (int i = 0; i < gs.rank(); i++) {
            if (i < lead) {
                axes.add((long) i);
            } else {
                Dim d = is.dim(i - lead);
                if (d.isStatic() && d.size() == 1 && !(gs.dim(i).isStatic() && gs.dim(i).size() == 1)) {
                    axes.add((long) i);
                }
            }
        }
        Tensor out = grad;
        if (!axes.isEmpty()) {
            out = out.reduceSum(true, axes.stream().mapToLong(Long::longValue).toArray());
        }
        if (lead > 0) {
            long[] leading = new long[lead];
            for (int i = 0; i < lead; i++) {
                leading[i] = i;
            }
            out = out.squeeze(leading);
        }
        return out;
    }

    /** Adds up gradient contributions (one Sum node for more than two). */
    public Tensor sum(List<Tensor> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        if (parts.size() == 2) {
            return parts.get(0).add(parts.get(1));
        }
        return graph.apply("Sum", parts, java.util.Map.of());
    }
}
