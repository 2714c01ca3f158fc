package io.troupe.ops.serve.monitor;

/** A feedback request refused: the HTTP status, an error code and the message for the client. */
public final class FeedbackException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String param;
    private final String code;

    FeedbackException(int status, String param, String code, String message) {
        super(message);
        this.status = status;
        this.param = param;
        this.code = code;
    }

    public int status() {
        return status;
    }

    /** The body field at fault, or null. */
    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
