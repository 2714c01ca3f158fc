package io.troupe.ops.inference;

/** Every decoder slot is held and the waiting queue is at its limit: the client should retry later (HTTP 429). */
public final class QueueFullException extends Exception {
    private static final long serialVersionUID = 1L;

    public QueueFullException(String message) {
        super(message);
    }
}
