package io.troupe.model.graph;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** Every op the builder knows, by ONNX op type. */
public final class OpRegistry {
    private static final Map<String, OpSpec> SPECS = new TreeMap<>();

    static {
        ElementwiseOps.all().forEach(OpRegistry::register);
        MatrixOps.all().forEach(OpRegistry::register);
        ShapeOps.all().forEach(OpRegistry::register);
        ReductionOps.all().forEach(OpRegistry::register);
        NeuralOps.all().forEach(OpRegistry::register);
    }

    private OpRegistry() {
    }

    private static void register(OpSpec spec) {
        if (SPECS.put(spec.opType(), spec) != null) {
            throw new IllegalStateException("op " + spec.opType() + " registered twice");
        }
    }

    /** The spec for {@code opType}, or null. */
    public static OpSpec get(String opType) {
        return SPECS.get(opType);
    }

    /** All known op types, sorted. */
    public static Set<String> names() {
        return new TreeSet<>(SPECS.keySet());
    }

    /** Op types with a backward rule, sorted. */
    public static Set<String> differentiable() {
        Set<String> out = new TreeSet<>();
        SPECS.forEach((k, v) -> {
            if (v.differentiable()) {
                out.add(k);
            }
        });
        return out;
    }
}
