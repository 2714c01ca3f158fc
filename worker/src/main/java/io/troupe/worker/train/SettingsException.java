package io.troupe.worker.train;

import io.troupe.errors.TroupeException;

/** A training setting is unknown, malformed or out of range; the message names the key and the fix. */
public class SettingsException extends TroupeException {
    private static final long serialVersionUID = 1L;

    public SettingsException(String message) {
        super(Kind.CONFIG, message);
    }
}
