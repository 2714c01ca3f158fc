package io.troupe.worker.engine;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a loaded step graph takes and returns, checked against the step-graph contract (see the
 * package documentation): the int64 batch inputs with their concrete shapes, and whether the graph
 * returns gradients (a training graph) or only the loss (an evaluation graph).
 *
 * @param batchShapes every non-parameter input and the shape its buffer is allocated with, in the
 *     graph's input order
 * @param computesGradients whether the graph has a {@code grad.<name>} output for every parameter
 */
record StepSignature(Map<String, long[]> batchShapes, boolean computesGradients) {

    /** Name of the scalar loss output. */
    static final String LOSS = "loss";

    /** Prefix of the gradient outputs: {@code grad.wte} is the gradient of parameter {@code wte}. */
    static final String GRAD_PREFIX = "grad.";

    /** ONNX marks a symbolic dimension (e.g. {@code B}) with -1. */
    private static final long SYMBOLIC = -1;

    StepSignature {
        batchShapes = Collections.unmodifiableMap(new LinkedHashMap<>(batchShapes));
    }

    /**
     * Reads the session's inputs and outputs and checks them against the layout.
     *
     * @param shapes concrete shapes for batch inputs; required for inputs with symbolic dimensions,
     *     and must agree with the graph where it has fixed ones
     * @throws EngineException naming the first input or output that breaks the contract
     */
    static StepSignature of(OrtSession session, FlatLayout layout, Map<String, long[]> shapes)
            throws EngineException {
        try {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            Map<String, NodeInfo> outputs = session.getOutputInfo();
            for (ParamView view : layout.views()) {
                TensorInfo input = tensor(inputs, view.name(), "input for parameter " + view.name());
                expect(input, OnnxJavaType.FLOAT, view.shape(), "input '" + view.name() + "'");
            }
            Map<String, long[]> batchShapes = batchShapes(inputs, layout, shapes);
            TensorInfo loss = tensor(outputs, LOSS, "scalar float output");
            expect(loss, OnnxJavaType.FLOAT, new long[0], "output '" + LOSS + "'");
            return new StepSignature(batchShapes, hasGradients(outputs, layout));
        } catch (OrtException e) {
            throw new EngineException("could not read the graph's inputs and outputs: " + e.getMessage(), e);
        }
    }

    private static Map<String, long[]> batchShapes(
            Map<String, NodeInfo> inputs, FlatLayout layout, Map<String, long[]> given) throws EngineException {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (NodeInfo input : inputs.values()) {
            String name = input.getName();
            if (isParameter(layout, name)) {
                continue;
            }
            TensorInfo info = tensor(inputs, name, "batch input");
            if (info.type != OnnxJavaType.INT64) {
                throw new EngineException("input '" + name + "' is not a parameter in the layout, so it must be "
                        + "an int64 batch input, but it is " + info.type);
            }
            long[] declared = info.getShape();
            long[] shape = given.containsKey(name) ? given.get(name).clone() : declared;
            if (!compatible(declared, shape) || isSymbolic(shape)) {
                throw new EngineException("batch input '" + name + "' is declared " + describe(info)
                        + (given.containsKey(name)
                                ? " but was given shape " + Arrays.toString(shape)
                                : "; give its concrete shape when creating the engine"));
            }
            shapes.put(name, shape);
        }
        for (String name : given.keySet()) {
            if (!shapes.containsKey(name)) {
                throw new EngineException("a shape was given for '" + name + "', which is not a batch input of "
                        + "the graph; batch inputs are " + shapes.keySet());
            }
        }
        return shapes;
    }

    private static boolean hasGradients(Map<String, NodeInfo> outputs, FlatLayout layout) throws EngineException {
        List<String> missing = new ArrayList<>();
        for (ParamView view : layout.views()) {
            String name = GRAD_PREFIX + view.name();
            if (outputs.containsKey(name)) {
                expect(tensor(outputs, name, "gradient output"), OnnxJavaType.FLOAT, view.shape(),
                        "output '" + name + "'");
            } else {
                missing.add(name);
            }
        }
        int found = layout.views().size() - missing.size();
        if (found > 0 && !missing.isEmpty()) {
            // A training graph that forgets one gradient would silently never update that parameter.
            throw new EngineException("the graph returns gradients for some parameters but not for " + missing
                    + "; a training graph needs one 'grad.<name>' output per parameter");
        }
        return found > 0;
    }

    private static TensorInfo tensor(Map<String, NodeInfo> values, String name, String role)
            throws EngineException {
        NodeInfo node = values.get(name);
        if (node == null) {
            throw new EngineException("the graph has no '" + name + "' (" + role + "); it has "
                    + new TreeMap<>(values).keySet());
        }
        if (!(node.getInfo() instanceof TensorInfo info)) {
            throw new EngineException("'" + name + "' must be a tensor, but the graph declares " + node.getInfo());
        }
        return info;
    }

    private static void expect(TensorInfo info, OnnxJavaType type, long[] shape, String what)
            throws EngineException {
        if (info.type != type || !compatible(info.getShape(), shape)) {
            throw new EngineException(what + " must be " + type + Arrays.toString(shape) + " but the graph declares "
                    + describe(info));
        }
    }

    /** Whether a concrete shape fits a declared one, where the declared one may have symbolic dimensions. */
    private static boolean compatible(long[] declared, long[] concrete) {
        if (declared.length != concrete.length) {
            return false;
        }
        for (int i = 0; i < declared.length; i++) {
            if (declared[i] != SYMBOLIC && declared[i] != concrete[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean isSymbolic(long[] shape) {
        return Arrays.stream(shape).anyMatch(dim -> dim < 0);
    }

    private static boolean isParameter(FlatLayout layout, String name) {
        return layout.views().stream().anyMatch(view -> view.name().equals(name));
    }

    private static String describe(TensorInfo info) {
        StringBuilder dims = new StringBuilder("[");
        String[] names = info.getDimensionNames();
        long[] shape = info.getShape();
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                dims.append(", ");
            }
            boolean named = shape[i] == SYMBOLIC && names != null && i < names.length && !names[i].isEmpty();
            dims.append(named ? names[i] : String.valueOf(shape[i]));
        }
        return info.type + dims.append(']').toString();
    }
}
