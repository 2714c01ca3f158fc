package io.troupe.worker.train;

/** The loss became NaN or infinite; the message says at which step and what to change. */
public class TrainingDivergedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(message);
    }
}
