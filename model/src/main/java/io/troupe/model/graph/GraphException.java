package io.troupe.model.graph;

/**
 * A graph could not be built as asked: an op got inputs of the wrong type or shape, an
 * attribute is missing, or a gradient was requested through an op without a backward rule.
 * The message names the op or node, what it was given and what was expected.
 */
public class GraphException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public GraphException(String message) {
        super(message);
    }
}
