package io.troupe.ops.serve;

import io.troupe.errors.TroupeException;

/** The server cannot start: its address is taken or unusable, or its api-key file unreadable. */
public final class ServeException extends TroupeException {
    private static final long serialVersionUID = 1L;

    public ServeException(String message, Throwable cause) {
        super(Kind.IO, message, cause);
    }
}
