package io.troupe.model.graph;

/** The element type and shape of a value, as shape inference computes it. */
public record TensorType(DType dtype, Shape shape) {
    @Override
    public String toString() {
        return dtype.onnxName() + shape;
    }
}
