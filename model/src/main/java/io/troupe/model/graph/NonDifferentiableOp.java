package io.troupe.model.graph;

import java.util.List;

/** Base for ops that gradients never flow through (shape queries, comparisons, casts to ints). */
abstract class NonDifferentiableOp implements OpSpec {
    @Override
    public boolean differentiable() {
        return false;
    }

    @Override
    public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> outputGradients) {
        throw new GraphException("no gradient rule for " + node + "; it is not differentiable");
    }
}
