package io.troupe.worker.train;

/** A training setting is unknown, malformed or out of range; the message names the key and the fix. */
public class SettingsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public SettingsException(String message) {
        super(message);
    }
}
