package io.troupe.model.graph;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.troupe.protocol.onnx.AttributeProto;
import io.troupe.protocol.onnx.GraphProto;
import io.troupe.protocol.onnx.ModelProto;
import io.troupe.protocol.onnx.NodeProto;
import io.troupe.protocol.onnx.OperatorSetIdProto;
import io.troupe.protocol.onnx.StringStringEntryProto;
import io.troupe.protocol.onnx.TensorProto;
import io.troupe.protocol.onnx.TensorShapeProto;
import io.troupe.protocol.onnx.TypeProto;
import io.troupe.protocol.onnx.ValueInfoProto;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** Turns a {@link Graph} into an ONNX {@link ModelProto}. */
final class OnnxWriter {
    /** IR version 9 is the one that introduced opset 20. */
    static final long IR_VERSION = 9;

    private OnnxWriter() {
    }

    static ModelProto write(Graph graph) {
        GraphProto.Builder g = GraphProto.newBuilder().setName(graph.name());
        for (Tensor in : graph.inputs()) {
            g.addInput(valueInfo(in.name(), in.type()));
        }
        // Rules emit some values that end up unused (a gradient for an input that turns out
        // not to need one, constants of pruned nodes); only what the outputs need is written.
        Set<Node> live = liveNodes(graph);
        Set<String> usedValues = new HashSet<>();
        for (Node node : live) {
            for (Tensor in : node.inputs()) {
                if (in != null) {
                    usedValues.add(in.name());
                }
            }
        }
        for (Map.Entry<String, TensorData> init : graph.initializers().entrySet()) {
            if (usedValues.contains(init.getKey())) {
                g.addInitializer(tensor(init.getKey(), init.getValue()));
            }
        }
        for (Node node : graph.nodes()) {
            if (live.contains(node)) {
                g.addNode(node(node));
            }
        }
        for (Map.Entry<String, Tensor> out : graph.outputs().entrySet()) {
            g.addOutput(valueInfo(out.getKey(), out.getValue().type()));
        }
        ModelProto.Builder model = ModelProto.newBuilder();
        graph.metadata().forEach((k, v) -> model.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return model
                .setIrVersion(IR_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(Graph.OPSET))
                .setProducerName("troupe")
                .setProducerVersion("0.1")
                .setGraph(g)
                .build();
    }

    /** Nodes some graph output depends on. */
    static Set<Node> liveNodes(Graph graph) {
        Set<Node> live = new HashSet<>();
        Deque<Node> work = new ArrayDeque<>();
        for (Tensor out : graph.outputs().values()) {
            if (out.producer() != null && live.add(out.producer())) {
                work.push(out.producer());
            }
        }
        while (!work.isEmpty()) {
            for (Tensor in : work.pop().inputs()) {
                if (in != null && in.producer() != null && live.add(in.producer())) {
                    work.push(in.producer());
                }
            }
        }
        return live;
    }

    static TensorProto tensor(String name, TensorData data) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(data.dtype().onnxCode());
        for (long d : data.shape()) {
            t.addDims(d);
        }
        // Wrapped, not copied: TensorData's bytes are never modified, and a copy of an export's
        // weights would be as large as the model.
        return t.setRawData(UnsafeByteOperations.unsafeWrap(data.raw())).build();
    }

    private static ValueInfoProto valueInfo(String name, TensorType type) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Dim d : type.shape().dims()) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d.isStatic()) {
                dim.setDimValue(d.size());
            } else if (d.isSymbolic()) {
                dim.setDimParam(d.symbol());
            }
            shape.addDim(dim);
        }
        TypeProto.Tensor tensorType = TypeProto.Tensor.newBuilder()
                .setElemType(type.dtype().onnxCode()).setShape(shape).build();
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(tensorType)).build();
    }

    private static NodeProto node(Node node) {
        NodeProto.Builder n = NodeProto.newBuilder().setName(node.name()).setOpType(node.opType());
        for (Tensor in : node.inputs()) {
            n.addInput(in == null ? "" : in.name());
        }
        for (Tensor out : node.outputs()) {
            n.addOutput(out.name());
        }
        for (Map.Entry<String, Object> a : node.attributes().entrySet()) {
            n.addAttribute(attribute(node, a.getKey(), a.getValue()));
        }
        return n.build();
    }

    private static AttributeProto attribute(Node node, String name, Object value) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
        if (value instanceof Long || value instanceof Integer) {
            a.setType(AttributeProto.AttributeType.INT).setI(((Number) value).longValue());
        } else if (value instanceof Double || value instanceof Float) {
            a.setType(AttributeProto.AttributeType.FLOAT).setF(((Number) value).floatValue());
        } else if (value instanceof String s) {
            a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFrom(s, StandardCharsets.UTF_8));
        } else if (value instanceof long[] ints) {
            a.setType(AttributeProto.AttributeType.INTS);
            for (long i : ints) {
                a.addInts(i);
            }
        } else if (value instanceof double[] floats) {
            a.setType(AttributeProto.AttributeType.FLOATS);
            for (double f : floats) {
                a.addFloats((float) f);
            }
        } else if (value instanceof TensorData t) {
            a.setType(AttributeProto.AttributeType.TENSOR).setT(tensor("", t));
        } else {
            throw new GraphException(node + ": attribute '" + name + "' has unsupported value type "
                    + value.getClass().getSimpleName());
        }
        return a.build();
    }
}
