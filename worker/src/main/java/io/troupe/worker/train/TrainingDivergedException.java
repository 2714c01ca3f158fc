package io.troupe.worker.train;

import io.troupe.errors.TroupeException;

/** The loss became NaN or infinite; the message says at which step and which setting to change ({@link Kind#CONFIG}). */
public class TrainingDivergedException extends TroupeException {
    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(Kind.CONFIG, message);
    }
}
