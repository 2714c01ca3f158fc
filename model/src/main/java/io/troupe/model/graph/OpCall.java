package io.troupe.model.graph;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * An op application under validation: what {@link OpSpec#infer} sees. Its {@code fail}
 * methods build messages that name the op, the node, what was given and what was expected.
 */
public record OpCall(String opType, String nodeName, List<Tensor> inputs, Map<String, Object> attributes,
                     int outputCount, Graph graph) {

    /** The i-th input, or null when omitted. */
    public Tensor input(int i) {
        return i < inputs.size() ? inputs.get(i) : null;
    }

    public long intAttr(String key, long fallback) {
        Object v = attributes.get(key);
        return v == null ? fallback : ((Number) v).longValue();
    }

    public double floatAttr(String key, double fallback) {
        Object v = attributes.get(key);
        return v == null ? fallback : ((Number) v).doubleValue();
    }

    public String stringAttr(String key, String fallback) {
        Object v = attributes.get(key);
        return v == null ? fallback : (String) v;
    }

    public long[] intsAttr(String key) {
        Object v = attributes.get(key);
        return v == null ? null : (long[]) v;
    }

    /** An exception saying what was expected, with the inputs this call was given. */
    public GraphException fail(String expected) {
        return new GraphException(opType + " node '" + nodeName + "': expected " + expected + ", got "
                + describeInputs());
    }

    /** Fails unless there are between {@code min} and {@code max} inputs. */
    public void requireInputCount(int min, int max) {
        int n = inputs.size();
        if (n < min || n > max) {
            throw fail(min == max ? min + " inputs" : min + " to " + max + " inputs");
        }
        for (int i = 0; i < min; i++) {
            if (inputs.get(i) == null) {
                throw fail("input " + i + " to be present");
            }
        }
    }

    /** Fails unless input {@code i} has a floating dtype. */
    public void requireFloating(int i) {
        if (!input(i).dtype().isFloating()) {
            throw fail("input " + i + " to be float or double");
        }
    }

    /** Fails unless all present inputs among {@code indices} share one dtype. */
    public DType requireSameDtype(int... indices) {
        DType first = input(indices[0]).dtype();
        for (int i : indices) {
            if (input(i) != null && input(i).dtype() != first) {
                throw fail("inputs of one element type");
            }
        }
        return first;
    }

    /** The int64 values of a constant input, or fails with what the input must be. */
    public long[] constantLongs(int i, String what) {
        Tensor t = input(i);
        if (t == null || t.constant() == null || t.dtype() != DType.INT64) {
            throw fail(what + " (input " + i + ") to be an int64 constant");
        }
        return t.constant().longs();
    }

    /** The int64 values of a constant input, or null when the input is not a known constant. */
    public long[] constantLongsOrNull(int i) {
        Tensor t = input(i);
        if (t == null || t.constant() == null || t.dtype() != DType.INT64) {
            return null;
        }
        return t.constant().longs();
    }

    String describeInputs() {
        return inputs.stream()
                .map(t -> t == null ? "<none>" : "'" + t.name() + "' " + t.type())
                .collect(Collectors.joining(", ", "(", ")"));
    }
}
