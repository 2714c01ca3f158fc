package io.troupe.coordinator;

/** A cluster node could not start or reach its peers; the message names the address and the fix. */
public class ClusterException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ClusterException(String message, Throwable cause) {
        super(message, cause);
    }
}
