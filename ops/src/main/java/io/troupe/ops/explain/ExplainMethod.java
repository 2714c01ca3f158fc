package io.troupe.ops.explain;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How token attributions are computed. */
public enum ExplainMethod {
    /** Gradient of the score with respect to each token embedding, dotted with the embedding. */
    GRAD_X_INPUT("grad-x-input"),
    /**
     * Integrated gradients from the zero embedding to the input: the gradient averaged over the
     * straight path (midpoint rule), dotted with input minus baseline; sums to f(x) - f(baseline).
     */
    INTEGRATED_GRADIENTS("integrated-gradients"),
    /** Attention rollout (Abnar and Zuidema 2020): head-averaged attention plus identity, multiplied over layers. */
    ATTENTION_ROLLOUT("attention-rollout");

    private final String label;

    ExplainMethod(String label) {
        this.label = label;
    }

    /** The name used on the command line and in requests. */
    public String label() {
        return label;
    }

    /**
     * Parses a method name.
     *
     * @throws ExplainException (usage) naming the valid methods
     */
    public static ExplainMethod parse(String name) {
        for (ExplainMethod m : values()) {
            if (m.label.equals(name)) {
                return m;
            }
        }
        throw ExplainException.usage("unknown explanation method '" + name + "'; use one of " + names());
    }

    /** The valid names, comma-separated. */
    public static String names() {
        return Arrays.stream(values()).map(ExplainMethod::label).collect(Collectors.joining(", "));
    }
}
