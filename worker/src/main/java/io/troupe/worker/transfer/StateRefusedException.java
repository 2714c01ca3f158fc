package io.troupe.worker.transfer;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * The state server answered, but with a refusal instead of the state: the request lacked the
 * current generation's token, it has none offered, it has another step's, it serves another job,
 * or it could not read the request. {@link #reason()} says
 * which, so that a caller can react (e.g. wait for the next offer) without parsing the message.
 */
public class StateRefusedException extends StateTransferException {

    private static final long serialVersionUID = 1L;

    /** Why a state server refused, as sent on the wire. */
    public enum Reason {
        /** Nothing is offered (not yet, or withdrawn). */
        NO_STATE(1),
        /** The offered state is of another training step than the one asked for. */
        OTHER_STEP(2),
        /** The server serves another job's state. */
        OTHER_JOB(3),
        /** The request was malformed or of another protocol version. */
        BAD_REQUEST(4),
        /**
         * The request did not carry the token of the current ring generation (none, a stale one or
         * a wrong one). The answer says nothing else: the asker may be anyone.
         */
        NOT_ADMITTED(5);

        private final int code;

        Reason(int code) {
            this.code = code;
        }

        /** The status byte that stands for this reason on the wire. */
        int code() {
            return code;
        }

        /** The reason for a status byte, or null for an unknown one. */
        static Reason ofCode(int code) {
            for (Reason reason : values()) {
                if (reason.code == code) {
                    return reason;
                }
            }
            return null;
        }
    }

    private final Reason reason;
    private final long offeredStep;

    /**
     * A refusal by {@code peer}.
     *
     * @param offeredStep the training step of the state the server has, or -1 if none
     */
    public StateRefusedException(InetSocketAddress peer, Reason reason, long offeredStep,
            String message) {
        super(peer, message, null);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.offeredStep = offeredStep;
    }

    /** Why the server refused. */
    public Reason reason() {
        return reason;
    }

    /** The training step of the state the server has, or -1 if it has none (or did not say). */
    public long offeredStep() {
        return offeredStep;
    }
}
