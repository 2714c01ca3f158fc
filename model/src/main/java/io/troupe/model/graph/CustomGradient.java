package io.troupe.model.graph;

import java.util.List;

/**
 * A hand-written backward rule for a small subgraph (a composite op): autodiff calls it
 * instead of differentiating the subgraph's nodes one by one. Used where the primitives'
 * rules would emit many more nodes than the closed form, as for LayerNorm.
 */
@FunctionalInterface
public interface CustomGradient {
    /**
     * @param gradOutput d(loss)/d(output) of the composite
     * @return d(loss)/d(input) for each composite input, in registration order (null where
     *     an input needs none)
     */
    List<Tensor> backward(GradientContext ctx, Tensor gradOutput);
}
