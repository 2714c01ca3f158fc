package io.troupe.data.prepare;

import io.troupe.data.DataException;

/**
 * Carries a {@link DataException} out of a stream stage (stage functions cannot throw checked
 * exceptions); the preparer unwraps it, so the user sees the original one-line message.
 */
final class StageFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    StageFailure(DataException cause) {
        super(cause.getMessage(), cause);
    }

    DataException data() {
        return (DataException) getCause();
    }
}
