package io.troupe.model.bert;

import io.troupe.model.io.ModelFileException;
import io.troupe.protocol.onnx.AttributeProto;
import io.troupe.protocol.onnx.GraphProto;
import io.troupe.protocol.onnx.ModelProto;
import io.troupe.protocol.onnx.NodeProto;
import io.troupe.protocol.onnx.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the weights of a Hugging Face BERT-family encoder exported to ONNX (e.g.
 * all-MiniLM-L6-v2) into an {@link ImportedEncoder}, through {@link BertMapping}.
 *
 * <p>The exporter keeps the Hugging Face names of biases, LayerNorms and embeddings, but gives the
 * linear weights anonymous names ({@code onnx::MatMul_787}). Each is found through the graph:
 * {@code Add(bias, MatMul(x, W))} where the Add reads a named {@code <prefix>.bias}, so W is
 * {@code <prefix>.weight}, already [in, out]. What the weights do not say is read from the
 * graph too: the number of heads from the Reshape that splits the key projection into
 * [B, T, NH, HS], the GELU from an Erf (exact) or Tanh node, and the LayerNorm epsilon from the
 * constant added to the variance (or a LayerNormalization node's attribute).
 */
public final class OnnxBertImport {
    private OnnxBertImport() {
    }

    /** Reads {@code file}. @throws ModelFileException when it is unreadable or not a BERT-family encoder */
    public static ImportedEncoder read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        } catch (IOException e) {
            throw new ModelFileException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads an ONNX model from {@code in}; {@code what} names it in messages. */
    public static ImportedEncoder read(InputStream in, String what) throws IOException {
        ModelProto model;
        try {
            model = ModelProto.parseFrom(in);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new ModelFileException(what + " is not an ONNX model (" + e.getMessage() + ")", e);
        }
        GraphProto g = model.getGraph();
        if (g.getNodeCount() == 0) {
            throw new ModelFileException(what + " is not an ONNX model: it has no graph nodes");
        }
        Map<String, TensorProto> constants = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            constants.put(t.getName(), t);
        }
        Map<String, NodeProto> producer = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (String out : n.getOutputList()) {
                producer.put(out, n);
            }
            if (n.getOpType().equals("Constant")) {
                for (AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value")) {
                        constants.put(n.getOutput(0), a.getT());
                    }
                }
            }
        }
        Map<String, BertMapping.HfTensor> tensors = new LinkedHashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE && !t.getName().startsWith("onnx::")) {
                tensors.put(hfName(t.getName()), floats(t, what));
            }
        }
        boolean erf = false;
        boolean tanh = false;
        Double eps = null;
        for (NodeProto n : g.getNodeList()) {
            switch (n.getOpType()) {
                case "Add" -> {
                    linearWeight(n, constants, producer, tensors, what);
                    if (eps == null) {
                        eps = varianceEpsilon(n, constants, producer);
                    }
                }
                case "Erf" -> erf = true;
                case "Tanh" -> tanh = true;
                case "Gelu" -> {
                    String approx = "none";
                    for (AttributeProto a : n.getAttributeList()) {
                        if (a.getName().equals("approximate")) {
                            approx = a.getS().toStringUtf8();
                        }
                    }
                    erf |= approx.equals("none");
                    tanh |= approx.equals("tanh");
                }
                case "LayerNormalization" -> {
                    for (AttributeProto a : n.getAttributeList()) {
                        if (a.getName().equals("epsilon") && eps == null) {
                            eps = shortest(a.getF());
                        }
                    }
                }
                default -> { }
            }
        }
        // Names are checked first, so a file that is not a BERT at all says what it lacks.
        BertMapping.requireNames(tensors, what);
        if (!erf && !tanh) {
            throw new ModelFileException(what + " is not a BERT-family encoder: its graph has no GELU (Erf, Tanh or Gelu node)");
        }
        int heads = heads(g, constants, producer, what);
        return BertMapping.map(tensors, heads, erf ? "none" : "tanh", eps == null ? 1e-12 : eps, what);
    }

    /** The float as the decimal it was written as (1e-12, not 9.99999996e-13): ONNX stores it in float. */
    private static double shortest(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    /** Strips the {@code bert.} prefix BertModel-wrapping exports give every name. */
    private static String hfName(String name) {
        return name.startsWith("bert.") ? name.substring(5) : name;
    }

    /** Add(bias, MatMul(x, W)) with a named bias: records W as the bias's {@code .weight}. */
    private static void linearWeight(NodeProto add, Map<String, TensorProto> constants, Map<String, NodeProto> producer,
                                     Map<String, BertMapping.HfTensor> tensors, String what) {
        if (add.getInputCount() != 2) {
            return;
        }
        for (int i = 0; i < 2; i++) {
            String bias = add.getInput(i);
            NodeProto other = producer.get(add.getInput(1 - i));
            if (!bias.endsWith(".bias") || bias.startsWith("onnx::") || other == null
                    || !other.getOpType().equals("MatMul")) {
                continue;
            }
            TensorProto w = constants.get(other.getInput(1));
            if (w != null && w.getDimsCount() == 2) {
                String prefix = hfName(bias.substring(0, bias.length() - ".bias".length()));
                tensors.putIfAbsent(prefix + ".weight", floats(w, what));
            }
        }
    }

    /** The epsilon of Add(ReduceMean(..), eps) feeding a Sqrt, or null when this Add is not one. */
    private static Double varianceEpsilon(NodeProto add, Map<String, TensorProto> constants,
                                          Map<String, NodeProto> producer) {
        if (add.getInputCount() != 2) {
            return null;
        }
        for (int i = 0; i < 2; i++) {
            NodeProto mean = producer.get(add.getInput(i));
            TensorProto c = constants.get(add.getInput(1 - i));
            if (mean != null && mean.getOpType().equals("ReduceMean") && c != null
                    && c.getDataType() == TensorProto.DataType.FLOAT_VALUE) {
                NodeProto pow = producer.get(mean.getInput(0));
                if (pow != null && (pow.getOpType().equals("Pow") || pow.getOpType().equals("Mul"))) {
                    float[] v = floats(c, "").values();
                    if (v.length == 1) {
                        return shortest(v[0]);
                    }
                }
            }
        }
        return null;
    }

    /**
     * NH from the Reshape of layer 0's key projection to [B, T, NH, HS]: a constant shape, or a
     * Concat whose third part is a constant.
     */
    private static int heads(GraphProto g, Map<String, TensorProto> constants, Map<String, NodeProto> producer,
                             String what) {
        String keyBias = null;
        for (String candidate : new String[] {"encoder.layer.0.attention.self.key.bias",
                "bert.encoder.layer.0.attention.self.key.bias"}) {
            if (constants.containsKey(candidate)) {
                keyBias = candidate;
            }
        }
        String keyOut = null;
        for (NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("Add") && n.getInputList().contains(keyBias)) {
                keyOut = n.getOutput(0);
            }
        }
        for (NodeProto n : g.getNodeList()) {
            if (!n.getOpType().equals("Reshape") || !n.getInput(0).equals(keyOut)) {
                continue;
            }
            TensorProto shape = constants.get(n.getInput(1));
            if (shape != null) {
                long[] dims = longs(shape);
                if (dims.length == 4) {
                    return (int) dims[2];
                }
            }
            NodeProto concat = producer.get(n.getInput(1));
            if (concat != null && concat.getOpType().equals("Concat") && concat.getInputCount() == 4) {
                TensorProto part = constants.get(concat.getInput(2));
                if (part != null) {
                    return (int) longs(part)[0];
                }
            }
        }
        throw new ModelFileException(what + ": cannot find the number of attention heads (no Reshape of layer 0's"
                + " key projection to [B, T, heads, head_size])");
    }

    private static long[] longs(TensorProto t) {
        if (t.getDataType() != TensorProto.DataType.INT64_VALUE) {
            return new long[0];
        }
        if (t.getInt64DataCount() > 0) {
            return t.getInt64DataList().stream().mapToLong(Long::longValue).toArray();
        }
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[b.remaining() / 8];
        b.asLongBuffer().get(out);
        return out;
    }

    private static BertMapping.HfTensor floats(TensorProto t, String what) {
        long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        float[] out;
        if (t.getFloatDataCount() > 0) {
            out = new float[t.getFloatDataCount()];
            for (int i = 0; i < out.length; i++) {
                out[i] = t.getFloatData(i);
            }
        } else {
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            out = new float[b.remaining() / 4];
            b.asFloatBuffer().get(out);
        }
        long expected = 1;
        for (long d : shape) {
            expected *= d;
        }
        if (out.length != expected) {
            // The trimmed ONNX schema has no data_location: weights kept in an external file show up empty.
            throw new ModelFileException(what + ": tensor " + t.getName() + " holds " + out.length + " values for shape "
                    + java.util.Arrays.toString(shape) + "; if its weights are in an external data file, export the"
                    + " model with them inside the .onnx file");
        }
        return new BertMapping.HfTensor(shape, out);
    }
}
