package io.troupe.worker.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a step graph (see the package documentation for its contract) on flat parameter and
 * gradient buffers without copying them.
 *
 * <p>The engine owns one direct float buffer of parameters, one of gradients (training graphs
 * only), one direct long buffer per batch input and a one-float loss buffer. Every graph input is
 * an ONNX Runtime tensor over a slice of those buffers, and every output is "pinned": ORT writes
 * the loss and each gradient straight into its slice. A step therefore allocates nothing: write the
 * parameters and the batch, call {@link #step()}, read the loss and the gradients.
 *
 * <pre>{@code
 * try (StepEngine engine = StepEngine.create(model, layout, EngineOptions.cpu(4))) {
 *     engine.parameters().put(initialWeights);
 *     engine.feed("idx", tokens);
 *     engine.feed("targets", nextTokens);
 *     float loss = engine.step();
 *     FloatBuffer grads = engine.gradients();
 * }
 * }</pre>
 *
 * <p>An evaluation graph (loss only, no gradient outputs) runs through the same class;
 * {@link #computesGradients()} tells which kind was loaded.
 *
 * <p>Not thread-safe: one engine belongs to one thread (one worker's step loop). Buffers handed
 * out stay valid memory after {@link #close()}, because the JVM frees direct buffers only when
 * they are unreachable; only the engine's methods stop working.
 */
public final class StepEngine implements AutoCloseable {

    private final FlatLayout layout;
    private final StepSignature signature;
    private final OrtSession session;
    private final TensorViews views;
    private final FlatBuffer parameters;
    private final FlatBuffer gradients;
    private final FloatBuffer loss;
    private final Map<String, LongBuffer> batch;
    /** Other scalar float outputs (e.g. an MLM evaluation's masked-token counts), pinned like the loss. */
    private final Map<String, FloatBuffer> metrics;
    private final Map<String, OnnxTensor> inputs;
    private final Map<String, OnnxTensor> outputs;
    private final boolean profiling;
    private boolean closed;

    private StepEngine(OrtSession session, FlatLayout layout, StepSignature signature, boolean profiling)
            throws OrtException {
        this.session = session;
        this.layout = layout;
        this.signature = signature;
        this.profiling = profiling;
        this.views = new TensorViews(OrtSessions.environment());
        this.parameters = FlatBuffer.allocate(layout.size());
        this.gradients = signature.computesGradients() ? FlatBuffer.allocate(layout.size()) : null;
        this.loss = DirectBuffers.floats(1);
        Map<String, LongBuffer> batchBuffers = new LinkedHashMap<>();
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        Map<String, FloatBuffer> metricBuffers = new LinkedHashMap<>();
        try {
            for (ParamView view : layout.views()) {
                in.put(view.name(), views.floats(slice(parameters.floats(), view), view.shape()));
                if (gradients != null) {
                    out.put(StepSignature.GRAD_PREFIX + view.name(), views.floats(slice(gradients.floats(), view), view.shape()));
                }
            }
            for (Map.Entry<String, long[]> input : signature.batchShapes().entrySet()) {
                LongBuffer buffer = DirectBuffers.longs(numel(input.getValue()));
                batchBuffers.put(input.getKey(), buffer);
                in.put(input.getKey(), views.longs(buffer, input.getValue()));
            }
            out.put(StepSignature.LOSS, views.floats(loss, new long[0]));
            for (Map.Entry<String, ai.onnxruntime.NodeInfo> output : session.getOutputInfo().entrySet()) {
                String name = output.getKey();
                if (out.containsKey(name) || name.startsWith(StepSignature.GRAD_PREFIX)
                        || !(output.getValue().getInfo() instanceof ai.onnxruntime.TensorInfo info)
                        || info.type != ai.onnxruntime.OnnxJavaType.FLOAT || info.getShape().length != 0) {
                    continue;
                }
                FloatBuffer value = DirectBuffers.floats(1);
                metricBuffers.put(name, value);
                out.put(name, views.floats(value, new long[0]));
            }
        } catch (OrtException | RuntimeException e) {
            views.close();
            throw e;
        }
        this.batch = Collections.unmodifiableMap(batchBuffers);
        this.metrics = Collections.unmodifiableMap(metricBuffers);
        this.inputs = Collections.unmodifiableMap(in);
        this.outputs = Collections.unmodifiableMap(out);
    }

    /**
     * Loads a step graph whose batch inputs all have fixed shapes.
     *
     * @param model a serialized ONNX ModelProto following the step-graph contract
     * @param layout where each parameter lives in the flat buffers
     * @param options threads, device, optimization and profiling
     * @throws EngineException if ORT rejects the model or the device, or the graph breaks the contract
     */
    public static StepEngine create(byte[] model, FlatLayout layout, EngineOptions options) throws EngineException {
        return create(model, layout, options, Map.of());
    }

    /**
     * Loads a step graph, fixing the shapes of batch inputs: required for inputs declared with
     * symbolic dimensions (e.g. {@code [B, T]}), and checked against the graph where it fixes them.
     *
     * @param batchShapes concrete shape per batch input name, e.g. {@code "idx" -> [8, 64]}
     * @throws EngineException if ORT rejects the model or the device, or the graph breaks the contract
     */
    public static StepEngine create(byte[] model, FlatLayout layout, EngineOptions options,
            Map<String, long[]> batchShapes) throws EngineException {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(batchShapes, "batchShapes");
        OrtSession session = OrtSessions.open(model, options);
        try {
            StepSignature signature = StepSignature.of(session, layout, batchShapes);
            return new StepEngine(session, layout, signature, options.profilingPrefix().isPresent());
        } catch (OrtException e) {
            closeAfterFailure(session, e);
            throw new EngineException("could not wrap the engine's buffers as ONNX Runtime tensors: "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeAfterFailure(session, e);
            throw e;
        }
    }

    /** The layout this engine was created with. */
    public FlatLayout layout() {
        ensureOpen();
        return layout;
    }

    /** Whether the graph returns gradients (a training graph) or only the loss (an evaluation graph). */
    public boolean computesGradients() {
        ensureOpen();
        return signature.computesGradients();
    }

    /**
     * The flat parameter buffer: a new view over the engine's memory, position 0, limit
     * {@code layout().size()}. Writes through it are what the next {@link #step()} reads.
     */
    public FloatBuffer parameters() {
        ensureOpen();
        return parameters.floats();
    }

    /** The flat parameter buffer as the type that copies it to and from arrays. */
    public FlatBuffer parameterBuffer() {
        ensureOpen();
        return parameters;
    }

    /**
     * The flat gradient buffer as the type that copies it to and from arrays.
     *
     * @throws IllegalStateException if the graph is an evaluation graph
     */
    public FlatBuffer gradientBuffer() {
        ensureOpen();
        return requireGradients();
    }

    /**
     * The flat gradient buffer, laid out like {@link #parameters()}: after {@link #step()} it holds
     * the gradient of the loss with respect to every parameter. A new view, position 0.
     *
     * @throws IllegalStateException if the graph is an evaluation graph
     */
    public FloatBuffer gradients() {
        ensureOpen();
        return requireGradients().floats();
    }

    /** The slice of {@link #parameters()} holding one parameter. @throws IllegalArgumentException if unknown */
    public FloatBuffer parameter(String name) {
        ensureOpen();
        return slice(parameters.floats(), layout.view(name));
    }

    /**
     * The slice of {@link #gradients()} holding one parameter's gradient.
     *
     * @throws IllegalArgumentException if there is no such parameter
     * @throws IllegalStateException if the graph is an evaluation graph
     */
    public FloatBuffer gradient(String name) {
        ensureOpen();
        return slice(requireGradients().floats(), layout.view(name));
    }

    /**
     * A scalar float output other than the loss (e.g. {@code masked_correct}), as the last
     * {@link #step()} computed it.
     *
     * @throws IllegalArgumentException if the graph has no such output
     */
    public float metric(String name) {
        ensureOpen();
        FloatBuffer value = metrics.get(name);
        if (value == null) {
            throw new IllegalArgumentException("no scalar output named '" + name + "'; the graph has " + metrics.keySet());
        }
        return value.get(0);
    }

    /** The batch inputs and their shapes, in the graph's input order. */
    public Map<String, long[]> batchShapes() {
        ensureOpen();
        Map<String, long[]> copy = new LinkedHashMap<>();
        signature.batchShapes().forEach((name, shape) -> copy.put(name, shape.clone()));
        return copy;
    }

    /**
     * The reusable buffer of one batch input, row-major, for filling in place: a new view,
     * position 0, limit the input's element count.
     *
     * @throws IllegalArgumentException if the graph has no such batch input
     */
    public LongBuffer batch(String name) {
        ensureOpen();
        LongBuffer buffer = batch.get(name);
        if (buffer == null) {
            throw new IllegalArgumentException("no batch input named '" + name + "'; the graph takes " + batch.keySet());
        }
        return buffer.duplicate();
    }

    /**
     * Copies {@code values} into a batch input's buffer.
     *
     * @throws IllegalArgumentException if there is no such input or the length is not its element count
     */
    public void feed(String name, long... values) {
        LongBuffer buffer = batch(name);
        if (values.length != buffer.remaining()) {
            throw new IllegalArgumentException("batch input '" + name + "' of shape "
                    + Arrays.toString(signature.batchShapes().get(name)) + " takes " + buffer.remaining()
                    + " values, got " + values.length);
        }
        buffer.put(values);
    }

    /**
     * Runs the graph once on the current parameters and batch. Afterwards the gradient buffer (for
     * a training graph) holds this step's gradients; earlier contents are overwritten, not added to.
     *
     * @return the loss
     * @throws EngineException if ONNX Runtime fails, e.g. on a token id outside the vocabulary
     */
    public float step() throws EngineException {
        ensureOpen();
        try {
            // Every output is pinned, so the result owns no values: ORT has already written the loss
            // and the gradients into the engine's buffers, and closing the result frees nothing of ours.
            session.run(inputs, outputs).close();
            return loss.get(0);
        } catch (OrtException e) {
            throw new EngineException("the step graph failed: " + e.getMessage(), e);
        }
    }

    /**
     * Stops ONNX Runtime's profiler and returns the trace it wrote (Chrome trace JSON).
     *
     * @throws IllegalStateException if the engine was created without a profiling prefix
     * @throws EngineException if ORT cannot finish the trace
     */
    public Path endProfiling() throws EngineException {
        ensureOpen();
        if (!profiling) {
            throw new IllegalStateException("profiling is off; create the engine with EngineOptions.withProfiling");
        }
        try {
            return Path.of(session.endProfiling());
        } catch (OrtException e) {
            throw new EngineException("could not finish the profile: " + e.getMessage(), e);
        }
    }

    /** Releases the session and every tensor; idempotent. Later calls to other methods throw. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        views.close();
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not release the session: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "StepEngine(" + layout.views().size() + " parameters, " + layout.size() + " floats, "
                + (signature.computesGradients() ? "training" : "evaluation") + " graph, batch "
                + signature.batchShapes().keySet() + (closed ? ", closed" : "") + ")";
    }

    private FlatBuffer requireGradients() {
        if (gradients == null) {
            throw new IllegalStateException("this engine runs an evaluation graph, which has no gradient outputs");
        }
        return gradients;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this StepEngine is closed");
        }
    }

    private static FloatBuffer slice(FloatBuffer flat, ParamView view) {
        // FlatLayout caps sizes at FlatLayout.MAX_SIZE floats, so offsets and lengths fit in an int.
        return flat.slice((int) view.offset(), (int) view.numel());
    }

    private static long numel(long[] shape) {
        return Arrays.stream(shape).reduce(1, Math::multiplyExact);
    }

    private static void closeAfterFailure(OrtSession session, Exception failure) {
        try {
            session.close();
        } catch (OrtException | RuntimeException suppressed) {
            failure.addSuppressed(suppressed);
        }
    }
}
