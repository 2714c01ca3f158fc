package io.troupe.worker.transfer;

import io.troupe.errors.TroupeException;
import java.net.InetSocketAddress;

/**
 * The one exception of the state-transfer boundary ({@link Kind#CLUSTER}): a state server could not be bound,
 * or fetching the training state from a peer failed. Subclasses say why; {@link #peer()} is the
 * state server involved, when there is one. The message is one line naming the peer, the problem
 * and the fix, so that a log or a command line can show it as is.
 */
public class StateTransferException extends TroupeException {

    private static final long serialVersionUID = 1L;

    private final transient InetSocketAddress peer;

    /** A failure with no peer to blame (e.g. a port already in use). */
    public StateTransferException(String message, Throwable cause) {
        this(null, message, cause);
    }

    /** A failure involving the state server at {@code peer}. */
    public StateTransferException(InetSocketAddress peer, String message, Throwable cause) {
        super(Kind.CLUSTER, message, cause);
        this.peer = peer;
    }

    /** The address of the state server this failure is about, or null. */
    public InetSocketAddress peer() {
        return peer;
    }
}
