package io.troupe.tuner.store;

import io.troupe.tuner.TuneException;

/**
 * The study store cannot be opened, read or written: locked, unreachable, or not a study store
 * ({@link Kind#IO} unless said otherwise).
 */
public class StoreException extends TuneException {
    private static final long serialVersionUID = 1L;

    /** A store failure whose message says which store and what to do. */
    public StoreException(String message, Throwable cause) {
        super(Kind.IO, message, cause);
    }

    /** A store failure of another kind (a malformed --storage URL, unreadable stored values). */
    public StoreException(Kind kind, String message, Throwable cause) {
        super(kind, message, cause);
    }
}
