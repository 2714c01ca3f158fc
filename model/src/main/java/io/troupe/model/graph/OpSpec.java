package io.troupe.model.graph;

import java.util.List;

/**
 * One ONNX operator as Troupe knows it: how to validate an application and infer its output
 * types (forward), and how to emit the gradient of its inputs (backward), side by side.
 */
public interface OpSpec {

    /** The ONNX op type, such as "MatMul". */
    String opType();

    /**
     * Validates the call and returns the type of each of its {@code call.outputCount()}
     * outputs. Throws {@link GraphException} (via {@link OpCall#fail}) on bad input.
     */
    List<TensorType> infer(OpCall call);

    /** Whether {@link #backward} is implemented. */
    default boolean differentiable() {
        return true;
    }

    /**
     * Emits the backward pass of {@code node}: given the gradient of the loss with respect to
     * each output (null where an output does not reach the loss), returns the gradient with
     * respect to each input (null where the input is not differentiable).
     */
    List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> outputGradients);
}
