package io.troupe.worker.allreduce;

import java.net.InetSocketAddress;

/**
 * A ring neighbour as errors name it: its rank, its side, and its address.
 *
 * @param rank the neighbour's rank in the ring
 * @param side whether it sends to us (predecessor) or we send to it (successor)
 * @param address the successor's listening address, or the address the predecessor connected
 *     from; null while not known yet
 */
public record RingPeer(int rank, Side side, InetSocketAddress address) {

    /** Which neighbour. */
    public enum Side {
        /** Rank r-1: sends its frames to us. */
        PREDECESSOR,
        /** Rank r+1: we send our frames to it. */
        SUCCESSOR
    }

    @Override
    public String toString() {
        String where = address == null ? "address not known yet" : address.getHostString() + ":" + address.getPort();
        return side.name().toLowerCase(java.util.Locale.ROOT) + " rank " + rank + " (" + where + ")";
    }
}
