package io.troupe.model.graph;

import io.troupe.errors.TroupeException;

/**
 * A graph could not be built as asked: an op got inputs of the wrong type or shape, an
 * attribute is missing, or a gradient was requested through an op without a backward rule.
 * The message names the op or node, what it was given and what was expected.
 *
 * <p>Troupe builds every graph it runs from validated settings, so one of these reaching a user
 * is a bug: {@link Kind#INTERNAL}.
 */
public class GraphException extends TroupeException {
    private static final long serialVersionUID = 1L;

    public GraphException(String message) {
        super(Kind.INTERNAL, message);
    }
}
