package io.troupe.coordinator;

import io.troupe.errors.TroupeException;

/** A cluster node could not start or reach its peers; the message names the address and the fix. */
public class ClusterException extends TroupeException {
    private static final long serialVersionUID = 1L;

    public ClusterException(String message, Throwable cause) {
        super(Kind.CLUSTER, message, cause);
    }
}
