package io.troupe.worker.transfer;

import java.net.InetSocketAddress;

/**
 * The state server sent something that is not a valid answer: a malformed header, another
 * protocol version, or a payload that is truncated or fails its CRC32C checksum. The bytes are
 * not used. A flipped bit on the way may go away on a second fetch; another version does not.
 */
public class StateProtocolException extends StateTransferException {

    private static final long serialVersionUID = 1L;

    /** Invalid bytes from {@code peer}; {@code cause} is the decoder's error, if any. */
    public StateProtocolException(InetSocketAddress peer, String message, Throwable cause) {
        super(peer, message, cause);
    }
}
