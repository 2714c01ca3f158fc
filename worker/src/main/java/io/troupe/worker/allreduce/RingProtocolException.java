package io.troupe.worker.allreduce;

/**
 * A neighbour sent something the ring did not expect: a frame of another step, phase, segment or
 * buffer size, a malformed frame, or a handshake from a peer with another rank, world size, wire
 * format, chunk size or protocol version. It means the peers disagree about the job, not that the
 * network failed.
 */
public class RingProtocolException extends RingException {

    /** A protocol violation by {@code peer}. */
    public RingProtocolException(RingPeer peer, String message) {
        super(peer, message, null);
    }
}
