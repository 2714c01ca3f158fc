package io.troupe.worker.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.protocol.onnx.GraphProto;
import io.troupe.protocol.onnx.ModelProto;
import io.troupe.protocol.onnx.NodeProto;
import io.troupe.protocol.onnx.OperatorSetIdProto;
import io.troupe.protocol.onnx.TensorProto;
import io.troupe.protocol.onnx.TensorShapeProto;
import io.troupe.protocol.onnx.TypeProto;
import io.troupe.protocol.onnx.ValueInfoProto;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Measures the float32 MatMul throughput ONNX Runtime reaches on this machine's CPU: the ceiling
 * a training step's throughput is compared against.
 *
 * <p>The product is {@code [768 x 768] x [768 x 3072]}, the shape of GPT-2 small's MLP expansion
 * for 768 tokens, so the number reflects the matrices Troupe actually multiplies rather than a
 * cache-friendly toy size. Inputs and output are pinned direct buffers, so only the MatMul is timed.
 */
public final class GemmPeak {

    /** Rows of the left matrix. */
    public static final int M = 768;
    /** The shared (reduction) dimension. */
    public static final int K = 768;
    /** Columns of the right matrix. */
    public static final int N = 3072;

    /** Warm-up runs: the first runs pay for thread-pool start-up and packing buffers. */
    public static final int DEFAULT_WARMUPS = 3;
    /** Timed runs; odd, so the median is one actual run. */
    public static final int DEFAULT_RUNS = 11;

    /** Floating-point operations of one product: a multiply and an add per (m, k, n). */
    static final double FLOPS_PER_RUN = 2.0 * M * K * N;

    private GemmPeak() {}

    /** {@link #measure(int, int, int)} with the default numbers of warm-up and timed runs. */
    public static double measure(int threads) throws EngineException {
        return measure(threads, DEFAULT_WARMUPS, DEFAULT_RUNS);
    }

    /**
     * Runs the MatMul {@code warmups} times untimed, then {@code runs} times timed.
     *
     * @param threads ONNX Runtime intra-op threads, at least 1
     * @return GFLOP/s of the median timed run
     * @throws IllegalArgumentException if threads or runs is below 1, or warmups is negative
     * @throws EngineException if ONNX Runtime fails
     */
    public static double measure(int threads, int warmups, int runs) throws EngineException {
        return measure(threads, warmups, runs, System::nanoTime);
    }

    /**
     * {@link #measure(int, int, int)} timed by {@code clock}, a nanosecond counter read right
     * before and right after each timed run (and never around warm-ups), so tests can give
     * known durations.
     */
    static double measure(int threads, int warmups, int runs, LongSupplier clock) throws EngineException {
        if (warmups < 0 || runs < 1) {
            throw new IllegalArgumentException("need warmups >= 0 and runs >= 1, got " + warmups + " and " + runs);
        }
        EngineOptions options = EngineOptions.cpu(threads);
        try (OrtSession session = OrtSessions.open(matMulModel(), options);
                TensorViews views = new TensorViews(OrtSessions.environment())) {
            Map<String, OnnxTensor> inputs = Map.of(
                    "a", views.floats(filled(M * K), new long[] {M, K}),
                    "b", views.floats(filled(K * N), new long[] {K, N}));
            FloatBuffer y = DirectBuffers.floats((long) M * N);
            Map<String, OnnxTensor> output = Map.of("y", views.floats(y, new long[] {M, N}));
            for (int i = 0; i < warmups; i++) {
                run(session, inputs, output);
            }
            double[] nanos = new double[runs];
            for (int i = 0; i < runs; i++) {
                long start = clock.getAsLong();
                run(session, inputs, output);
                nanos[i] = clock.getAsLong() - start;
            }
            // FLOP per nanosecond is GFLOP per second.
            return FLOPS_PER_RUN / io.troupe.worker.stats.Median.of(nanos);
        } catch (OrtException e) {
            throw new EngineException("the MatMul benchmark failed: " + e.getMessage(), e);
        }
    }

    private static void run(OrtSession session, Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> output)
            throws OrtException {
        session.run(inputs, output).close();
    }

    /** Small non-zero values: zeros could take shortcuts, large ones could overflow to infinities. */
    private static FloatBuffer filled(int count) {
        FloatBuffer buffer = DirectBuffers.floats(count);
        for (int i = 0; i < count; i++) {
            buffer.put(i, ((i % 17) - 8) / 64f);
        }
        return buffer;
    }

    /** {@code y = MatMul(a, b)} with a [M, K], b [K, N], y [M, N]; ONNX IR 10, opset 20. */
    static byte[] matMulModel() {
        GraphProto graph = GraphProto.newBuilder()
                .setName("gemm_peak")
                .addInput(floatTensor("a", M, K))
                .addInput(floatTensor("b", K, N))
                .addOutput(floatTensor("y", M, N))
                .addNode(NodeProto.newBuilder().setName("matmul").setOpType("MatMul")
                        .addInput("a").addInput("b").addOutput("y"))
                .build();
        return ModelProto.newBuilder()
                .setIrVersion(10)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(20))
                .setProducerName("troupe")
                .setGraph(graph)
                .build()
                .toByteArray();
    }

    private static ValueInfoProto floatTensor(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long dim : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(dim));
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(TensorProto.DataType.FLOAT_VALUE)
                        .setShape(shape)))
                .build();
    }
}
