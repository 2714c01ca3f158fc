package io.troupe.worker.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One lane's chain of stage sessions (a training graph cut by {@code GptGraphs.stagedTraining}):
 * like a {@link StepEngine}, it owns flat parameter and gradient buffers that every stage reads
 * and writes in place (each stage's gradients are pinned to their slices), plus the batch and
 * loss buffers. The values a stage hands to later ones (activations kept for the backward pass,
 * the gradient at the cut) stay ONNX Runtime's own tensors, passed on without a copy, until
 * {@link #release()}.
 *
 * <p>Not thread-safe: one lane runs on one thread at a time.
 */
final class StagedLane implements AutoCloseable {
    private final List<OrtSession> sessions = new ArrayList<>();
    private final List<Map<String, OnnxTensor>> fixedInputs = new ArrayList<>();
    private final List<List<String>> received = new ArrayList<>();
    private final List<Set<String>> sent = new ArrayList<>();
    private final List<Map<String, OnnxValue>> pinned = new ArrayList<>();
    private final TensorViews views = new TensorViews(OrtSessions.environment());
    private final FlatBuffer parameters;
    private final FlatBuffer gradients;
    private final FloatBuffer loss = DirectBuffers.floats(1);
    private final Map<String, LongBuffer> batch = new LinkedHashMap<>();
    private final Map<String, OnnxValue> carried = new HashMap<>();
    private final List<OrtSession.Result> results = new ArrayList<>();

    /**
     * @param stages the serialized stage graphs, in running order
     * @param batchShapes the int64 batch inputs and their shapes
     */
    StagedLane(List<byte[]> stages, FlatLayout layout, EngineOptions options, Map<String, long[]> batchShapes)
            throws EngineException {
        this.parameters = FlatBuffer.allocate(layout.size());
        this.gradients = FlatBuffer.allocate(layout.size());
        Map<String, ParamView> byName = new HashMap<>();
        layout.views().forEach(v -> byName.put(v.name(), v));
        try {
            Map<String, OnnxTensor> batchViews = new HashMap<>();
            for (Map.Entry<String, long[]> input : batchShapes.entrySet()) {
                LongBuffer buffer = DirectBuffers.longs(java.util.Arrays.stream(input.getValue()).reduce(1, Math::multiplyExact));
                batch.put(input.getKey(), buffer);
                batchViews.put(input.getKey(), views.longs(buffer, input.getValue()));
            }
            OnnxTensor lossView = views.floats(loss, new long[0]);
            for (byte[] model : stages) {
                OrtSession session = OrtSessions.open(model, options);
                sessions.add(session);
                Map<String, OnnxTensor> in = new LinkedHashMap<>();
                List<String> receives = new ArrayList<>();
                for (String name : session.getInputNames()) {
                    ParamView view = byName.get(name);
                    if (view != null) {
                        in.put(name, views.floats(slice(parameters.floats(), view), view.shape()));
                    } else if (batchViews.containsKey(name)) {
                        in.put(name, batchViews.get(name));
                    } else {
                        receives.add(name);
                    }
                }
                Map<String, OnnxValue> out = new LinkedHashMap<>();
                Set<String> sends = new LinkedHashSet<>();
                for (String name : session.getOutputNames()) {
                    if (name.equals(StepSignature.LOSS)) {
                        out.put(name, lossView);
                    } else if (name.startsWith(StepSignature.GRAD_PREFIX)) {
                        ParamView view = byName.get(name.substring(StepSignature.GRAD_PREFIX.length()));
                        if (view == null) {
                            throw new EngineException("stage output " + name + " names no parameter of the layout");
                        }
                        out.put(name, views.floats(slice(gradients.floats(), view), view.shape()));
                    } else {
                        sends.add(name);
                    }
                }
                fixedInputs.add(in);
                received.add(receives);
                sent.add(sends);
                pinned.add(out);
            }
        } catch (OrtException | RuntimeException e) {
            close();
            if (e instanceof EngineException engine) {
                throw engine;
            }
            throw new EngineException("could not set up the stage sessions: " + e.getMessage(), e);
        }
    }

    int stages() {
        return sessions.size();
    }

    FlatBuffer parameterBuffer() {
        return parameters;
    }

    FlatBuffer gradientBuffer() {
        return gradients;
    }

    /** The reusable buffer of one batch input: a new view, position 0. */
    LongBuffer batch(String name) {
        LongBuffer buffer = batch.get(name);
        if (buffer == null) {
            throw new IllegalArgumentException("no batch input named '" + name + "'; the graph takes " + batch.keySet());
        }
        return buffer.duplicate();
    }

    /**
     * Runs stage {@code s}; the stages of a step run in order 0, 1, ... Afterwards its gradient
     * slices hold this step's values.
     *
     * @return the loss after stage 0 (NaN after the others)
     */
    float run(int s) throws EngineException {
        Map<String, OnnxTensorLike> in = new HashMap<>(fixedInputs.get(s));
        for (String name : received.get(s)) {
            OnnxValue value = carried.get(name);
            if (!(value instanceof OnnxTensorLike tensor)) {
                throw new IllegalStateException("stage " + s + " reads '" + name + "', which no earlier stage of this step gave");
            }
            in.put(name, tensor);
        }
        try {
            OrtSession.Result result = sessions.get(s).run(in, sent.get(s), pinned.get(s));
            results.add(result);
            for (String name : sent.get(s)) {
                carried.put(name, result.get(name).orElseThrow());
            }
        } catch (OrtException e) {
            throw new EngineException("stage " + s + " of the step graph failed: " + e.getMessage(), e);
        }
        return s == 0 ? loss.get(0) : Float.NaN;
    }

    /** Frees the values the stages of this step handed on; call after the last stage. */
    void release() {
        carried.clear();
        for (OrtSession.Result r : results) {
            r.close();
        }
        results.clear();
    }

    @Override
    public void close() {
        release();
        views.close();
        for (OrtSession session : sessions) {
            try {
                session.close();
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime could not release a stage session: " + e.getMessage(), e);
            }
        }
        sessions.clear();
    }

    private static FloatBuffer slice(FloatBuffer flat, ParamView view) {
        return flat.slice((int) view.offset(), (int) view.numel());
    }
}
