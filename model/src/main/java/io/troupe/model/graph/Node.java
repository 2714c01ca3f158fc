package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * One operator application in a {@link Graph}. Inputs may contain {@code null} for omitted
 * optional inputs. Attribute values are {@link Long}, {@link Double}, {@link String},
 * {@code long[]}, {@code double[]} or {@link TensorData}.
 */
public final class Node {
    private final String name;
    private final String opType;
    private final List<Tensor> inputs;
    // This node's own copy behind the read-only view, for Bf16ActivationStorage's rewiring only.
    private final List<Tensor> rawInputs;
    private final Map<String, Object> attributes;
    private List<Tensor> outputs = List.of();

    Node(String name, String opType, List<Tensor> inputs, Map<String, Object> attributes) {
        this.name = name;
        this.opType = opType;
        this.rawInputs = new ArrayList<>(inputs); // null allowed (an omitted optional input)
        this.inputs = Collections.unmodifiableList(rawInputs);
        this.attributes = Collections.unmodifiableMap(attributes);
    }

    /** Makes this node read {@code value} as input {@code i}; the caller keeps types and order valid. */
    void replaceInput(int i, Tensor value) {
        rawInputs.set(i, value);
    }

    void setOutputs(List<Tensor> outputs) {
        this.outputs = List.copyOf(outputs);
    }

    public String name() {
        return name;
    }

    public String opType() {
        return opType;
    }

    public List<Tensor> inputs() {
        return inputs;
    }

    public Tensor input(int i) {
        return i < inputs.size() ? inputs.get(i) : null;
    }

    public List<Tensor> outputs() {
        return outputs;
    }

    public Tensor output(int i) {
        return outputs.get(i);
    }

    public Map<String, Object> attributes() {
        return attributes;
    }

    /** An integer attribute, or {@code fallback} when absent. */
    public long intAttr(String key, long fallback) {
        Object v = attributes.get(key);
        return v == null ? fallback : ((Number) v).longValue();
    }

    /**
     * A float attribute, or {@code fallback} when absent. ONNX stores float attributes as
     * float32, so the value is rounded the same way: rules that reuse it then compute with
     * exactly what the runtime sees.
     */
    public double floatAttr(String key, double fallback) {
        Object v = attributes.get(key);
        return v == null ? fallback : (double) ((Number) v).floatValue();
    }

    /** A string attribute, or {@code fallback} when absent. */
    public String stringAttr(String key, String fallback) {
        Object v = attributes.get(key);
        return v == null ? fallback : (String) v;
    }

    /** An integer-list attribute, or null when absent. */
    public long[] intsAttr(String key) {
        Object v = attributes.get(key);
        return v == null ? null : ((long[]) v).clone();
    }

    @Override
    public String toString() {
        return opType + " node '" + name + "'";
    }
}
