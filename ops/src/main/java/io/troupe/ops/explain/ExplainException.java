package io.troupe.ops.explain;

import io.troupe.errors.TroupeException;

/**
 * A request for an explanation that cannot be answered as asked: a target the model does not
 * have, an unknown label or method, an empty text, a continuation longer than the context.
 * {@link Kind#USAGE}: the command line (or the HTTP request) is what must change.
 */
public final class ExplainException extends TroupeException {
    private static final long serialVersionUID = 1L;
    private final String param;

    private ExplainException(String param, String message) {
        super(Kind.USAGE, message);
        this.param = param;
    }

    /** A bad request about no single field. */
    static ExplainException usage(String message) {
        return new ExplainException(null, message);
    }

    /** A bad value of {@code param} (text, target, method, steps). */
    static ExplainException invalid(String param, String message) {
        return new ExplainException(param, message);
    }

    /** The request field at fault (text, target, method, steps), or null. */
    public String param() {
        return param;
    }
}
