package io.troupe.model.graph;

import io.troupe.protocol.onnx.ModelProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The context that owns an ONNX graph under construction: its inputs, initializers, nodes
 * and outputs, and the names of all of them. Nodes are validated as they are added (see
 * {@link OpSpec#infer}), so a graph that builds is a graph ORT loads.
 *
 * <p>Names are readable and unique: {@link #scope(String)} prefixes node names with the
 * module path ({@code h.0.attn/MatMul}), and clashes get a numeric suffix.
 */
public final class Graph {
    /** The ONNX opset Troupe targets. */
    public static final int OPSET = 20;

    private final String name;
    private final List<Node> nodes = new ArrayList<>();
    private final List<Tensor> inputs = new ArrayList<>();
    private final Map<String, Tensor> outputs = new LinkedHashMap<>();
    private final Map<String, TensorData> initializers = new LinkedHashMap<>();
    // ONNX keeps node names and value names in separate namespaces.
    private final Set<String> usedNames = new HashSet<>();
    private final Set<String> usedNodeNames = new HashSet<>();
    private final Map<String, Integer> nameCounters = new HashMap<>();
    private final Map<String, Tensor> constantCache = new HashMap<>();
    private final Deque<String> scopes = new ArrayDeque<>();
    private final Map<Tensor, CompositeRegion> composites = new HashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** A subgraph from {@code inputs} to one output whose gradient a {@link CustomGradient} gives. */
    record CompositeRegion(List<Tensor> inputs, CustomGradient rule) {
    }

    public Graph(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    // ---- naming --------------------------------------------------------------------------

    /** Prefixes the names of nodes created until the returned scope is closed. */
    public Scope scope(String prefix) {
        scopes.push(prefix);
        return new Scope(prefix);
    }

    /** A name scope; close it (try-with-resources) to pop it. */
    public final class Scope implements AutoCloseable {
        private final String prefix;

        private Scope(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public void close() {
            if (scopes.isEmpty() || !scopes.peek().equals(prefix)) {
                throw new IllegalStateException("scope '" + prefix + "' closed out of order");
            }
            scopes.pop();
        }
    }

    private String scopedBase(String base) {
        if (scopes.isEmpty()) {
            return base;
        }
        List<String> parts = new ArrayList<>(scopes);
        Collections.reverse(parts);
        return String.join("/", parts) + "/" + base;
    }

    private String uniqueName(String base) {
        return unique(base, usedNames);
    }

    private String unique(String base, Set<String> used) {
        if (used.add(base)) {
            return base;
        }
        int n = nameCounters.getOrDefault(base, 0);
        String candidate;
        do {
            n++;
            candidate = base + "_" + n;
        } while (!used.add(candidate));
        nameCounters.put(base, n);
        return candidate;
    }

    private void claim(String exactName) {
        if (exactName == null || exactName.isEmpty()) {
            throw new GraphException("graph value names must be non-empty");
        }
        if (!usedNames.add(exactName)) {
            throw new GraphException("graph '" + name + "' already has a value named '" + exactName + "'");
        }
    }

    // ---- sources -------------------------------------------------------------------------

    /** Declares a graph input with an exact name. */
    public Tensor input(String inputName, DType dtype, Shape shape) {
        claim(inputName);
        Tensor t = new Tensor(this, inputName, new TensorType(dtype, shape), null, null);
        inputs.add(t);
        return t;
    }

    /** Declares a named initializer: a constant stored in the model (weights in export graphs). */
    public Tensor initializer(String initName, TensorData data) {
        claim(initName);
        initializers.put(initName, data);
        return new Tensor(this, initName, new TensorType(data.dtype(), Shape.of(data.shape())), null, data);
    }

    /** An anonymous constant, deduplicated when small. */
    public Tensor constant(TensorData data) {
        String key = null;
        if (data.raw().length <= 64) {
            key = data.dtype() + Arrays.toString(data.shape()) + Arrays.toString(data.raw());
            Tensor cached = constantCache.get(key);
            if (cached != null) {
                return cached;
            }
        }
        String constName = uniqueName("const");
        initializers.put(constName, data);
        Tensor t = new Tensor(this, constName, new TensorType(data.dtype(), Shape.of(data.shape())), null, data);
        if (key != null) {
            constantCache.put(key, t);
        }
        return t;
    }

    /** A rank-0 constant of {@code dtype}. */
    public Tensor scalar(DType dtype, double value) {
        return constant(TensorData.scalar(dtype, value));
    }

    /** A 1-D int64 constant (shapes, axes, split sizes). */
    public Tensor longs(long... values) {
        return constant(TensorData.vector(values));
    }

    // ---- nodes ---------------------------------------------------------------------------

    /** Applies an op with exactly one output. */
    public Tensor apply(String opType, List<Tensor> in, Map<String, Object> attributes) {
        return applyMulti(opType, in, attributes, 1).get(0);
    }

    /**
     * Applies an op with one output named exactly {@code outputName}: a value that becomes a
     * graph output under that name then needs no Identity copy (see {@link #output}).
     */
    public Tensor applyNamed(String opType, List<Tensor> in, Map<String, Object> attributes, String outputName) {
        return applyMulti(opType, in, attributes, 1, List.of(outputName)).get(0);
    }

    /** Applies an op and returns its first {@code outputCount} outputs, validated. */
    public List<Tensor> applyMulti(String opType, List<Tensor> in, Map<String, Object> attributes, int outputCount) {
        return applyMulti(opType, in, attributes, outputCount, null);
    }

    /**
     * Applies an op whose outputs are named exactly {@code outputNames} (null for a generated
     * name): outputs that become graph outputs under those names then need no Identity copies.
     */
    public List<Tensor> applyMultiNamed(String opType, List<Tensor> in, Map<String, Object> attributes,
                                        List<String> outputNames) {
        return applyMulti(opType, in, attributes, outputNames.size(), outputNames);
    }

    /** {@code exactOutputNames}: null, or one name per output (null entries get generated names). */
    private List<Tensor> applyMulti(String opType, List<Tensor> in, Map<String, Object> attributes, int outputCount,
                                    List<String> exactOutputNames) {
        OpSpec spec = OpRegistry.get(opType);
        if (spec == null) {
            throw new GraphException("unknown op '" + opType + "': Troupe's graph builder supports " + OpRegistry.names());
        }
        for (Tensor t : in) {
            if (t != null && t.graph() != this) {
                throw new GraphException(opType + ": input " + t + " belongs to another graph");
            }
        }
        String nodeName = unique(scopedBase(opType), usedNodeNames);
        List<Tensor> inputsCopy = new ArrayList<>(in);
        OpCall call = new OpCall(opType, nodeName, Collections.unmodifiableList(inputsCopy), attributes, outputCount, this);
        List<TensorType> types = spec.infer(call);
        if (types.size() < outputCount) {
            throw new GraphException(opType + " node '" + nodeName + "' has at most " + types.size() + " outputs, "
                    + outputCount + " requested");
        }
        Node node = new Node(nodeName, opType, inputsCopy, new LinkedHashMap<>(attributes));
        List<Tensor> outs = new ArrayList<>(outputCount);
        for (int i = 0; i < outputCount; i++) {
            String exact = exactOutputNames == null ? null : exactOutputNames.get(i);
            if (exact != null) {
                claim(exact);
            }
            String outName = exact != null ? exact : uniqueName(outputCount == 1 ? nodeName : nodeName + ":" + i);
            outs.add(new Tensor(this, outName, types.get(i), node, null));
        }
        node.setOutputs(outs);
        nodes.add(node);
        return outs;
    }

    /**
     * Copies {@code node} of another graph into this one with the same name, op and attributes,
     * reading {@code inputs} (tensors of this graph) and giving its outputs the same names and
     * types as the original's; for {@link Subgraph}.
     */
    List<Tensor> copyNode(Node node, List<Tensor> inputs) {
        String nodeName = unique(node.name(), usedNodeNames);
        Node copy = new Node(nodeName, node.opType(), new ArrayList<>(inputs), new LinkedHashMap<>(node.attributes()));
        List<Tensor> outs = new ArrayList<>(node.outputs().size());
        for (Tensor out : node.outputs()) {
            claim(out.name());
            outs.add(new Tensor(this, out.name(), out.type(), copy, null));
        }
        copy.setOutputs(outs);
        nodes.add(copy);
        return outs;
    }

    /** Concatenates along {@code axis}. */
    public Tensor concat(long axis, List<Tensor> parts) {
        return apply("Concat", parts, Map.of("axis", axis));
    }

    /**
     * Declares that {@code output} is computed from {@code inputs} by the nodes added since,
     * and that autodiff should use {@code rule} for it instead of differentiating those nodes.
     */
    public void customGradient(Tensor output, List<Tensor> inputs, CustomGradient rule) {
        if (output.producer() == null || output.graph() != this) {
            throw new GraphException("customGradient(): " + output + " is not computed by a node of graph '" + name + "'");
        }
        composites.put(output, new CompositeRegion(List.copyOf(inputs), rule));
    }

    CompositeRegion compositeFor(Tensor output) {
        return composites.get(output);
    }

    /** Marks {@code value} as a graph output under {@code outputName} (adding an Identity if needed). */
    public Tensor output(String outputName, Tensor value) {
        if (outputs.containsKey(outputName)) {
            throw new GraphException("graph '" + name + "' already has an output named '" + outputName + "'");
        }
        Tensor out = value;
        if (!value.name().equals(outputName) || value.producer() == null) {
            claim(outputName);
            Node node = new Node(unique(outputName, usedNodeNames), "Identity", List.of(value), Map.of());
            out = new Tensor(this, outputName, value.type(), node, null);
            node.setOutputs(List.of(out));
            nodes.add(node);
        }
        outputs.put(outputName, out);
        return out;
    }

    /** Adds a model metadata entry (ModelProto.metadata_props), readable by any ONNX runtime. */
    public void metadata(String key, String value) {
        metadata.put(key, value);
    }

    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * Replaces the node order with {@code order}, which must hold exactly this graph's nodes,
     * each once, inputs before their consumers (for {@link Bf16ActivationStorage}).
     */
    void reorderNodes(List<Node> order) {
        if (order.size() != nodes.size() || !new HashSet<>(order).equals(new HashSet<>(nodes))) {
            throw new GraphException("reorderNodes(): the new order must hold exactly the graph's " + nodes.size()
                    + " nodes");
        }
        nodes.clear();
        nodes.addAll(order);
    }

    // ---- views ---------------------------------------------------------------------------

    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    public List<Tensor> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    public Map<String, Tensor> outputs() {
        return Collections.unmodifiableMap(outputs);
    }

    public Map<String, TensorData> initializers() {
        return Collections.unmodifiableMap(initializers);
    }

    /** Serializes to an ONNX model (opset {@value #OPSET}). */
    public ModelProto toModel() {
        return OnnxWriter.write(this);
    }

    /** Serialized ONNX model bytes, ready for {@code OrtSession}. */
    public byte[] toBytes() {
        return toModel().toByteArray();
    }

    /**
     * Writes the serialized ONNX model to {@code channel} through a small buffer, without
     * {@link #toBytes()}'s array of the whole model (the weights' size: 500 MB at 124M
     * parameters). The channel is left open.
     */
    public void writeTo(WritableByteChannel channel) throws IOException {
        OutputStream out = Channels.newOutputStream(channel); // not closed: that would close the channel
        toModel().writeTo(out);
        out.flush();
    }
}
