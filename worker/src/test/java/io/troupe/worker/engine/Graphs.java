package io.troupe.worker.engine;

import io.troupe.protocol.onnx.AttributeProto;
import io.troupe.protocol.onnx.GraphProto;
import io.troupe.protocol.onnx.ModelProto;
import io.troupe.protocol.onnx.NodeProto;
import io.troupe.protocol.onnx.OperatorSetIdProto;
import io.troupe.protocol.onnx.TensorProto;
import io.troupe.protocol.onnx.TensorShapeProto;
import io.troupe.protocol.onnx.TypeProto;
import io.troupe.protocol.onnx.ValueInfoProto;

/** Hand-built ONNX graphs for the engine tests: ONNX IR 10, opset 20, written with the protocol classes. */
final class Graphs {

    static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    static final int INT64 = TensorProto.DataType.INT64_VALUE;

    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
    private int nodes;

    /** Adds a graph input with fixed dimensions. */
    Graphs input(String name, int elemType, long... dims) {
        graph.addInput(value(name, elemType, dims));
        return this;
    }

    /** Adds a graph input whose dimensions are all symbolic, named as given (e.g. "B", "T"). */
    Graphs symbolicInput(String name, int elemType, String... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (String dim : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(dim));
        }
        graph.addInput(ValueInfoProto.newBuilder().setName(name).setType(type(elemType, shape)));
        return this;
    }

    /** Adds a graph output with fixed dimensions (none for a scalar). */
    Graphs output(String name, int elemType, long... dims) {
        graph.addOutput(value(name, elemType, dims));
        return this;
    }

    /** Adds a node {@code output = op(inputs...)}. */
    Graphs node(String op, String output, String... inputs) {
        return node(op, output, inputs, new AttributeProto[0]);
    }

    /** Adds a node with attributes. */
    Graphs node(String op, String output, String[] inputs, AttributeProto... attributes) {
        NodeProto.Builder node = NodeProto.newBuilder()
                .setName(op.toLowerCase() + "_" + nodes++)
                .setOpType(op)
                .addOutput(output);
        for (String input : inputs) {
            node.addInput(input);
        }
        for (AttributeProto attribute : attributes) {
            node.addAttribute(attribute);
        }
        graph.addNode(node);
        return this;
    }

    /** {@code output = ReduceSum(input)} over all axes, giving a scalar. */
    Graphs sumAll(String output, String input) {
        return node("ReduceSum", output, new String[] {input}, intAttribute("keepdims", 0));
    }

    /** {@code output = Cast(input)} to float. */
    Graphs toFloat(String output, String input) {
        return node("Cast", output, new String[] {input}, intAttribute("to", FLOAT));
    }

    /** {@code output} = a constant float tensor of the given shape filled with {@code value}. */
    Graphs constant(String output, float value, long... dims) {
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(output).setDataType(FLOAT);
        long count = 1;
        for (long dim : dims) {
            tensor.addDims(dim);
            count *= dim;
        }
        for (long i = 0; i < count; i++) {
            tensor.addFloatData(value);
        }
        AttributeProto attribute = AttributeProto.newBuilder()
                .setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(tensor).build();
        return node("Constant", output, new String[0], attribute);
    }

    /** Adds an int64 initializer of shape [values.length], e.g. the target shape a Reshape needs. */
    Graphs int64Initializer(String name, long... values) {
        TensorProto.Builder tensor = TensorProto.newBuilder().setName(name).setDataType(INT64).addDims(values.length);
        for (long value : values) {
            tensor.addInt64Data(value);
        }
        graph.addInitializer(tensor);
        return this;
    }

    /** The serialized model. */
    byte[] bytes() {
        return ModelProto.newBuilder()
                .setIrVersion(10)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(20))
                .setProducerName("troupe-test")
                .setGraph(graph)
                .build()
                .toByteArray();
    }

    static AttributeProto intAttribute(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    private static ValueInfoProto value(String name, int elemType, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long dim : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(dim));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(type(elemType, shape)).build();
    }

    private static TypeProto type(int elemType, TensorShapeProto.Builder shape) {
        return TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))
                .build();
    }
}
