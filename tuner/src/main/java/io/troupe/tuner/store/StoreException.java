package io.troupe.tuner.store;

import io.troupe.tuner.TuneException;

/** The study store cannot be opened, read or written: locked, unreachable, or not a study store. */
public class StoreException extends TuneException {
    private static final long serialVersionUID = 1L;

    /** A store failure whose message says which store and what to do. */
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
