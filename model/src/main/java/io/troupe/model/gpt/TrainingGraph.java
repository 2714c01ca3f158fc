package io.troupe.model.gpt;

import io.troupe.model.graph.Graph;

/**
 * A GPT graph for training or evaluation, and the layout of its parameter inputs.
 *
 * <p>Contract: one input per parameter named as in {@link #layout()}; int64 inputs
 * {@value #TOKENS} and {@value #TARGETS} of shape [B, T]; a scalar output {@value #LOSS};
 * and, for training graphs, one output {@code grad.<name>} per parameter.
 */
public record TrainingGraph(Graph graph, ParameterLayout layout, Backbone config, int batch, int seqLen,
                            boolean hasGradients) {
    public static final String TOKENS = "idx";
    public static final String TARGETS = "targets";
    public static final String LOSS = "loss";
    public static final String GRADIENT_PREFIX = "grad.";

    /** The output name holding the gradient of {@code param}. */
    public static String gradientName(String param) {
        return GRADIENT_PREFIX + param;
    }

    /** Serialized ONNX model. */
    public byte[] toBytes() {
        return graph.toBytes();
    }
}
