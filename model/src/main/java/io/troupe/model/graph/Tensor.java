package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A typed reference to a value in a {@link Graph}: a graph input, an initializer or a node
 * output. The fluent methods append validated nodes to the owning graph and return refs to
 * their outputs, so model code reads like the math ({@code x.matMul(w).add(b)}).
 */
public final class Tensor {
    private final Graph graph;
    private final String name;
    private final TensorType type;
    private final Node producer;
    private final TensorData constant;

    Tensor(Graph graph, String name, TensorType type, Node producer, TensorData constant) {
        this.graph = graph;
        this.name = name;
        this.type = type;
        this.producer = producer;
        this.constant = constant;
    }

    public Graph graph() {
        return graph;
    }

    /** The unique value name in the ONNX graph. */
    public String name() {
        return name;
    }

    public TensorType type() {
        return type;
    }

    public DType dtype() {
        return type.dtype();
    }

    public Shape shape() {
        return type.shape();
    }

    public int rank() {
        return type.shape().rank();
    }

    /** The node that computes this value, or null for inputs and initializers. */
    public Node producer() {
        return producer;
    }

    /** The value when it is a constant known at build time, else null. */
    public TensorData constant() {
        return constant;
    }

    @Override
    public String toString() {
        return "'" + name + "' " + type;
    }

    // ---- generic application -------------------------------------------------------------

    /** Applies {@code opType} with this tensor as the first input and one output. */
    public Tensor apply(String opType, Map<String, Object> attributes, Tensor... otherInputs) {
        List<Tensor> in = new ArrayList<>();
        in.add(this);
        in.addAll(Arrays.asList(otherInputs));
        return graph.apply(opType, in, attributes);
    }

    private Tensor apply1(String opType, Tensor... otherInputs) {
        return apply(opType, Map.of(), otherInputs);
    }

    private Tensor like(double value) {
        return graph.scalar(dtype(), value);
    }

    // ---- elementwise arithmetic ----------------------------------------------------------

    public Tensor add(Tensor other) {
        return apply1("Add", other);
    }

    public Tensor add(double value) {
        return add(like(value));
    }

    public Tensor sub(Tensor other) {
        return apply1("Sub", other);
    }

    public Tensor sub(double value) {
        return sub(like(value));
    }

    public Tensor mul(Tensor other) {
        return apply1("Mul", other);
    }

    public Tensor mul(double value) {
        return mul(like(value));
    }

    public Tensor div(Tensor other) {
        return apply1("Div", other);
    }

    public Tensor div(double value) {
        return div(like(value));
    }

    /** Raises to a constant power. */
    public Tensor pow(double exponent) {
        return apply1("Pow", like(exponent));
    }

    public Tensor neg() {
        return apply1("Neg");
    }

    public Tensor sqrt() {
        return apply1("Sqrt");
    }

    public Tensor tanh() {
        return apply1("Tanh");
    }

    public Tensor erf() {
        return apply1("Erf");
    }

    public Tensor exp() {
        return apply1("Exp");
    }

    public Tensor log() {
        return apply1("Log");
    }

    public Tensor reciprocal() {
        return apply1("Reciprocal");
    }

    /** GELU; {@code approximate} is "none" (erf) or "tanh" (GPT-2). */
    public Tensor gelu(String approximate) {
        return apply("Gelu", Map.of("approximate", approximate));
    }

    // ---- linear algebra ------------------------------------------------------------------

    /** Batched, broadcasting matrix product (numpy matmul). */
    public Tensor matMul(Tensor other) {
        return apply1("MatMul", other);
    }

    /** General matrix product alpha*op(A)*op(B) + beta*C on 2-D inputs; {@code c} may be null. */
    public Tensor gemm(Tensor b, Tensor c, boolean transA, boolean transB, double alpha, double beta) {
        Map<String, Object> attrs = Map.of("transA", transA ? 1L : 0L, "transB", transB ? 1L : 0L,
                "alpha", alpha, "beta", beta);
        List<Tensor> in = new ArrayList<>(List.of(this, b));
        if (c != null) {
            in.add(c);
        }
        return graph.apply("Gemm", in, attrs);
    }

    // ---- shape ---------------------------------------------------------------------------

    /** Reshape with ONNX semantics: 0 copies the input dimension, -1 is inferred. */
    public Tensor reshape(long... shape) {
        return apply1("Reshape", graph.longs(shape));
    }

    /** Reshape to a runtime shape tensor. */
    public Tensor reshape(Tensor shape) {
        return apply1("Reshape", shape);
    }

    public Tensor transpose(long... perm) {
        return apply("Transpose", Map.of("perm", perm));
    }

    /** Swaps the last two axes. */
    public Tensor transposeLast2() {
        long[] perm = new long[rank()];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = i;
        }
        perm[perm.length - 1] = perm.length - 2;
        perm[perm.length - 2] = perm.length - 1;
        return transpose(perm);
    }

    /** Slice along {@code axes} from {@code starts} to {@code ends} (exclusive), step 1. */
    public Tensor slice(long[] starts, long[] ends, long[] axes) {
        return apply1("Slice", graph.longs(starts), graph.longs(ends), graph.longs(axes));
    }

    /** Splits along {@code axis} into pieces of the given sizes. */
    public List<Tensor> split(long axis, long... sizes) {
        return graph.applyMulti("Split", List.of(this, graph.longs(sizes)), Map.of("axis", axis), sizes.length);
    }

    public Tensor unsqueeze(long... axes) {
        return apply1("Unsqueeze", graph.longs(axes));
    }

    public Tensor squeeze(long... axes) {
        return apply1("Squeeze", graph.longs(axes));
    }

    /** Broadcasts to a runtime shape. */
    public Tensor expand(Tensor shape) {
        return apply1("Expand", shape);
    }

    /** The runtime shape as an int64 vector. */
    public Tensor shapeOf() {
        return apply1("Shape");
    }

    public Tensor cast(DType to) {
        return apply("Cast", Map.of("to", (long) to.onnxCode()));
    }

    // ---- reductions ----------------------------------------------------------------------

    public Tensor reduceSum(boolean keepDims, long... axes) {
        return apply("ReduceSum", Map.of("keepdims", keepDims ? 1L : 0L), graph.longs(axes));
    }

    public Tensor reduceMean(boolean keepDims, long... axes) {
        return apply("ReduceMean", Map.of("keepdims", keepDims ? 1L : 0L), graph.longs(axes));
    }

    // ---- neural-network ops --------------------------------------------------------------

    /** Rows of this table picked by integer {@code indices} (embedding lookup, axis 0). */
    public Tensor gather(Tensor indices) {
        return apply("Gather", Map.of("axis", 0L), indices);
    }

    /**
     * LayerNormalization over the last axis. Emits the optional Mean and InvStdDev outputs too,
     * which the backward rule reuses instead of recomputing the statistics.
     */
    public Tensor layerNorm(Tensor scale, Tensor bias, double epsilon) {
        List<Tensor> in = new ArrayList<>(List.of(this, scale));
        if (bias != null) {
            in.add(bias);
        }
        return graph.applyMulti("LayerNormalization", in, Map.of("axis", -1L, "epsilon", epsilon), 3).get(0);
    }

    public Tensor softmax(long axis) {
        return apply("Softmax", Map.of("axis", axis));
    }

    /** Elementwise {@code condition ? this : otherwise}. */
    public Tensor where(Tensor condition, Tensor otherwise) {
        return graph.apply("Where", List.of(condition, this, otherwise), Map.of());
    }

    /**
     * Training-mode dropout with a fixed seed; emits the mask output that the backward rule
     * multiplies by. A ratio of 0 returns this tensor unchanged.
     */
    public Tensor dropout(double ratio, long seed) {
        if (ratio == 0) {
            return this;
        }
        Tensor training = graph.constant(TensorData.ofBools(new boolean[] {true}));
        return graph.applyMulti("Dropout", List.of(this, like(ratio), training), Map.of("seed", seed), 2)
                .get(0);
    }

    /**
     * Mean softmax cross-entropy of these [N, C] scores against int64 [N] labels; also emits
     * the log_prob output that the backward rule uses.
     */
    public Tensor softmaxCrossEntropy(Tensor labels) {
        return graph.applyMulti("SoftmaxCrossEntropyLoss", List.of(this, labels), Map.of("reduction", "mean"), 2)
                .get(0);
    }
}
