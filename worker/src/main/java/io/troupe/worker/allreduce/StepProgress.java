package io.troupe.worker.allreduce;

/**
 * The bookkeeping of one all-reduce call on one rank: which frame may arrive next, which frames
 * are ready to go out, and when the call is done. No I/O and no Pekko, so the protocol's rules can
 * be read (and tested) in one place.
 *
 * <p>Frames of one phase arrive in chunk order, because every rank sends a phase's chunks in order
 * and TCP keeps it; chunks of different phases interleave freely. A chunk received in phase q is
 * queued to be sent in phase q+1 (see {@link RingPlan}); the own segment's chunks of phase 0 are
 * ready from the start. Forwards go first: they are what the rest of the ring is waiting for.
 *
 * <p>The queue holds only (phase, chunk) pairs: a frame is encoded from the buffer when the
 * connection asks for it, so however fast frames arrive, at most a frame or two of encoded bytes
 * wait in memory, and backpressure reaches the encoder.
 */
final class StepProgress {

    private final RingPlan plan;
    private final long stepId;
    private final WireFormat wire;
    private final int toSend;
    private final int toReceive;
    /** Per phase, the chunk index the next frame of that phase must carry. */
    private final int[] nextChunk;
    /** FIFO of (phase << 32 | chunk) to forward; at most one entry per frame received. */
    private final long[] forwards;
    private int forwardHead;
    private int forwardTail;
    private int ownChunksSent;
    private int sent;
    private int received;

    StepProgress(RingPlan plan, long stepId, WireFormat wire) {
        this.plan = plan;
        this.stepId = stepId;
        this.wire = wire;
        this.toSend = plan.framesToSend();
        this.toReceive = plan.framesToReceive();
        this.nextChunk = new int[plan.phases()];
        this.forwards = new long[toReceive];
    }

    long stepId() {
        return stepId;
    }

    RingPlan plan() {
        return plan;
    }

    /** Checks that {@code header} is exactly the data frame this rank may receive next. */
    void check(FrameHeader header) throws FrameException {
        if (header.kind() != FrameHeader.DATA) {
            throw new FrameException("a handshake frame arrived in the middle of step " + stepId);
        }
        if (header.stepId() != stepId) {
            throw new FrameException("frame of step " + header.stepId() + " (phase " + header.phase()
                    + ") arrived while this rank is in step " + stepId
                    + ": the peers' step counters disagree, or a frame of a failed step was still on the way");
        }
        if (header.wire() != wire) {
            throw new FrameException("frame in wire format " + header.wire() + ", this ring uses " + wire);
        }
        if (header.total() != plan.length()) {
            throw new FrameException("step " + stepId + " reduces a buffer of " + header.total()
                    + " floats on the sender but " + plan.length() + " here: all peers must reduce the same layout");
        }
        int phase = header.phase();
        if (phase < 0 || phase >= plan.phases()) {
            throw new FrameException("frame of phase " + phase + ", a ring of " + plan.worldSize()
                    + " has phases 0.." + (plan.phases() - 1));
        }
        int segment = plan.receiveSegment(phase);
        if (header.segment() != segment) {
            throw new FrameException("phase " + phase + " frame of segment " + header.segment()
                    + ", expected segment " + segment);
        }
        if (header.chunk() != nextChunk[phase] || header.chunk() >= plan.chunkCount(segment)) {
            throw new FrameException("phase " + phase + " frame of chunk " + header.chunk() + ", expected chunk "
                    + nextChunk[phase] + " of " + plan.chunkCount(segment) + " (out of order or duplicated)");
        }
        int count = plan.chunkLength(segment, header.chunk());
        if (header.count() != count) {
            throw new FrameException("chunk " + header.chunk() + " of segment " + segment + " carries "
                    + header.count() + " elements, expected " + count + ": the peers use different chunk sizes");
        }
    }

    /** Records a checked frame as applied to the buffer, and queues its forward if it has one. */
    void received(FrameHeader header) {
        nextChunk[header.phase()]++;
        received++;
        if (plan.forwards(header.phase())) {
            forwards[forwardTail++] = (long) (header.phase() + 1) << 32 | header.chunk();
        }
    }

    /** Whether a frame can be sent now. */
    boolean hasFrameToSend() {
        return forwardHead < forwardTail || ownChunksSent < plan.chunkCount(plan.sendSegment(0));
    }

    /** The header of the next frame to send, counted as sent; call only if {@link #hasFrameToSend()}. */
    FrameHeader nextFrameToSend() {
        int phase;
        int chunk;
        if (forwardHead < forwardTail) {
            long next = forwards[forwardHead++];
            phase = (int) (next >>> 32);
            chunk = (int) next;
        } else {
            phase = 0;
            chunk = ownChunksSent++;
        }
        sent++;
        int segment = plan.sendSegment(phase);
        return new FrameHeader(FrameHeader.DATA, wire, stepId, plan.length(), phase, segment, chunk,
                plan.chunkLength(segment, chunk));
    }

    /** Whether more frames must arrive before the step is done. */
    boolean awaitsFrames() {
        return received < toReceive;
    }

    /** Whether every frame has arrived and every frame has been handed to the connection. */
    boolean isComplete() {
        return received == toReceive && sent == toSend;
    }

    /** A short account of how far the step got, for error messages. */
    String progress() {
        return "received " + received + " of " + toReceive + " frames, sent " + sent + " of " + toSend;
    }
}
