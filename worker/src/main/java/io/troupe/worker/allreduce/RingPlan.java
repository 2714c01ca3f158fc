package io.troupe.worker.allreduce;

/**
 * Who sends what, when, in one ring all-reduce of {@code length} floats among {@code worldSize}
 * peers, seen from {@code rank}. Pure arithmetic, shared by every peer, so each one knows exactly
 * which frames to expect.
 *
 * <p>The buffer is cut into N segments, the first {@code length % N} one element longer (so a
 * buffer shorter than N has empty segments, which send nothing); each segment into chunks of at
 * most {@code chunkElements}. There are 2(N-1) phases:
 * <ul>
 *   <li>reduce-scatter, phases {@code q = 0 .. N-2}: rank r sends segment {@code r-q} and adds the
 *       segment {@code r-q-1} it receives into its own. After phase N-2 rank r holds the complete
 *       sum of segment {@code r+1}, which it scales by 1/N;</li>
 *   <li>all-gather, phases {@code q = N-1 .. 2N-3} ({@code p = q-(N-1)}): rank r sends segment
 *       {@code r+1-p} and overwrites segment {@code r-p} with what it receives.</li>
 * </ul>
 * (All segment numbers mod N.) What a rank receives in phase q is exactly what it sends in phase
 * q+1, so the ring is a pipeline: a chunk received and reduced can be forwarded at once, while the
 * next chunk is still on the wire.
 */
final class RingPlan {

    private final int worldSize;
    private final int rank;
    private final int length;
    private final int chunkElements;

    RingPlan(int worldSize, int rank, int length, int chunkElements) {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is not in a ring of " + worldSize);
        }
        if (length < 0 || chunkElements < 1) {
            throw new IllegalArgumentException("length " + length + " and chunk " + chunkElements + " must be >= 0 and >= 1");
        }
        this.worldSize = worldSize;
        this.rank = rank;
        this.length = length;
        this.chunkElements = chunkElements;
    }

    int worldSize() {
        return worldSize;
    }

    int length() {
        return length;
    }

    /** 2(N-1): reduce-scatter then all-gather. */
    int phases() {
        return 2 * (worldSize - 1);
    }

    /** Index of the first element of segment {@code s}. */
    int segmentOffset(int s) {
        int base = length / worldSize;
        int extra = length % worldSize;
        return s * base + Math.min(s, extra);
    }

    /** Elements in segment {@code s}: {@code length / N}, plus one for the first {@code length % N}. */
    int segmentLength(int s) {
        return length / worldSize + (s < length % worldSize ? 1 : 0);
    }

    /** Chunks of segment {@code s}; 0 for an empty segment. */
    int chunkCount(int s) {
        return (segmentLength(s) + chunkElements - 1) / chunkElements;
    }

    /** Buffer index of the first element of chunk {@code k} of segment {@code s}. */
    int chunkOffset(int s, int k) {
        return segmentOffset(s) + k * chunkElements;
    }

    /** Elements in chunk {@code k} of segment {@code s}. */
    int chunkLength(int s, int k) {
        return Math.min(chunkElements, segmentLength(s) - k * chunkElements);
    }

    /** The segment this rank sends in phase {@code q}. */
    int sendSegment(int q) {
        return sendSegment(rank, q);
    }

    /** The segment this rank receives (from its predecessor) in phase {@code q}. */
    int receiveSegment(int q) {
        return sendSegment(rank - 1, q);
    }

    private int sendSegment(int r, int q) {
        int s = isReduceScatter(q) ? r - q : r + 1 - (q - (worldSize - 1));
        return Math.floorMod(s, worldSize);
    }

    /** Whether phase {@code q} adds what arrives (reduce-scatter) rather than copying it (all-gather). */
    boolean isReduceScatter(int q) {
        return q < worldSize - 1;
    }

    /** Whether phase {@code q} completes a segment's sum, which is then scaled by 1/N. */
    boolean completesSum(int q) {
        return q == worldSize - 2;
    }

    /** Whether what arrives in phase {@code q} is sent on in phase q+1 (all but the last phase). */
    boolean forwards(int q) {
        return q < phases() - 1;
    }

    /** Frames this rank sends in one all-reduce. */
    int framesToSend() {
        int frames = 0;
        for (int q = 0; q < phases(); q++) {
            frames += chunkCount(sendSegment(q));
        }
        return frames;
    }

    /** Frames this rank receives in one all-reduce. */
    int framesToReceive() {
        int frames = 0;
        for (int q = 0; q < phases(); q++) {
            frames += chunkCount(receiveSegment(q));
        }
        return frames;
    }
}
