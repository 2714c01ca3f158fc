package io.troupe.worker.allreduce;

import static io.troupe.errors.Failures.rootMessage;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractGraphStageWithMaterializedValue;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * One ring member's data plane as a single Pekko Streams stage between its two TCP connections:
 *
 * <pre>
 *   predecessor --bytes---> [fromPredecessor]  RingStage  [toSuccessor] --frames--> successor
 *   predecessor <--abort--- [toPredecessor]               [fromSuccessor] <--abort--- successor
 * </pre>
 *
 * Data flows one way round the ring. The return channels carry at most one abort frame each; they
 * exist so that a neighbour giving up, closing or resetting its connection is seen at once, even
 * between steps.
 *
 * <p>Receiving and sending live in one stage (one thread) because they share one state: a chunk
 * that arrives is reduced into the caller's buffer and queued to go on, and the next frame is
 * encoded from the buffer only when the successor's connection asks for it (Pekko's demand), so
 * encoding keeps pace with the network. Frames are read from the predecessor only while a step
 * needs them: between steps a faster predecessor's next-step frames wait in TCP buffers, and TCP
 * backpressure holds it. Within a step the stage always reads, whatever the successor does, which
 * is what keeps the ring free of deadlock: every frame can always be reduced into the buffer, and
 * what is queued to send is a list of chunk numbers, not bytes.
 *
 * <p>Failures (deadline, protocol error, a neighbour gone) fail the running step and stop the
 * stage. Before closing, the stage sends both neighbours an abort frame with the reason where it
 * can (where a connection is blocked, it resets it instead), so one member's failure spreads round
 * the ring in milliseconds, each member's error carrying the original cause, instead of every
 * member waiting out its own deadline and reporting a bare "connection reset".
 */
final class RingStage extends AbstractGraphStageWithMaterializedValue<BidiShape<ByteString, ByteString, ByteString, ByteString>, RingControl> {

    private static final String DEADLINE = "deadline";
    private static final String CONNECT = "connect";

    private final Inlet<ByteString> fromPredecessor = Inlet.create("RingStage.fromPredecessor");
    private final Outlet<ByteString> toSuccessor = Outlet.create("RingStage.toSuccessor");
    private final Inlet<ByteString> fromSuccessor = Inlet.create("RingStage.fromSuccessor");
    private final Outlet<ByteString> toPredecessor = Outlet.create("RingStage.toPredecessor");
    private final BidiShape<ByteString, ByteString, ByteString, ByteString> shape =
            BidiShape.of(fromPredecessor, toSuccessor, fromSuccessor, toPredecessor);

    private final int rank;
    private final int worldSize;
    private final RingSettings settings;
    private final InetSocketAddress localAddress;

    RingStage(int rank, int worldSize, RingSettings settings, InetSocketAddress localAddress) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.settings = settings;
        this.localAddress = localAddress;
    }

    @Override
    public BidiShape<ByteString, ByteString, ByteString, ByteString> shape() {
        return shape;
    }

    @Override
    public Pair<GraphStageLogic, RingControl> createLogicAndMaterializedValuePair(Attributes attributes) {
        Logic logic = new Logic();
        return Pair.create(logic, logic.control);
    }

    private final class Logic extends TimerGraphStageLogic {

        private final ChunkCodec codec = new ChunkCodec();
        private final FrameReader reader = new FrameReader(settings.maxPayloadBytes());
        private final FrameReader.Listener frames = new Frames();
        /** Reads the successor's return channel, where only an abort may arrive. */
        private final FrameReader returnReader = new FrameReader(0);
        /** Received bytes not read yet: they belong to a step that has not started. Pulled only when empty. */
        private ByteBuffer pending = ByteBuffer.allocate(0);
        private final RingControl control;
        private RingPeer predecessor = new RingPeer(Math.floorMod(rank - 1, worldSize), RingPeer.Side.PREDECESSOR, null);
        private RingPeer successor = new RingPeer((rank + 1) % worldSize, RingPeer.Side.SUCCESSOR, null);
        private boolean helloSent;
        private boolean helloReceived;
        private boolean successorUp;
        private RingException failure;

        // The running step, if any.
        private StepProgress step;
        private FloatBuffer buffer;
        private CompletableFuture<Void> stepDone;
        /** Where in the buffer the values of the data frame being read go, and how. */
        private int frameOffset;
        private boolean frameAdds;
        private boolean frameCompletesSum;
        private long stepStartNanos;
        private long lastFrameNanos;

        Logic() {
            super(shape);
            control = new RingControl(createAsyncCallback(this::onStart), createAsyncCallback(this::onPredecessorAccepted),
                    createAsyncCallback(this::onConnecting), createAsyncCallback(done -> onSuccessorConnected()),
                    createAsyncCallback(done -> fail(new RingException("ring member rank " + rank + " was closed", null))));

            setHandler(fromPredecessor, new AbstractInHandler() {
                @Override
                public void onPush() {
                    // Pekko's TCP reads arrive as compact ByteStrings, so this is a view, not a copy.
                    pending = grab(fromPredecessor).asByteBuffer();
                    readPending();
                }

                @Override
                public void onUpstreamFinish() {
                    fail(new RingPeerException(predecessor, predecessor + " closed the connection" + during(), null));
                }

                @Override
                public void onUpstreamFailure(Throwable cause) {
                    fail(new RingPeerException(predecessor, "the connection from " + predecessor + " failed"
                            + during() + ": " + rootMessage(cause), cause));
                }
            });
            setHandler(toSuccessor, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    sendNext();
                }

                @Override
                public void onDownstreamFinish(Throwable cause) {
                    successorGone(cause);
                }
            });
            setHandler(fromSuccessor, new AbstractInHandler() {
                @Override
                public void onPush() {
                    try {
                        returnReader.read(grab(fromSuccessor).asByteBuffer(), new ReturnChannel());
                    } catch (FrameException e) {
                        fail(new RingProtocolException(successor, "rank " + rank + " rejected what " + successor
                                + " sent back: " + e.getMessage()));
                        return;
                    }
                    if (failure == null) {
                        pull(fromSuccessor);
                    }
                }

                @Override
                public void onUpstreamFinish() {
                    fail(new RingPeerException(successor, successor + " closed the connection" + during(), null));
                }

                @Override
                public void onUpstreamFailure(Throwable cause) {
                    successorGone(cause);
                }
            });
            setHandler(toPredecessor, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    // Only an abort ever goes back to the predecessor, when this member fails (see fail).
                }

                @Override
                public void onDownstreamFinish(Throwable cause) {
                    fail(new RingPeerException(predecessor, "the connection from " + predecessor + " closed" + during()
                            + ": " + rootMessage(cause), cause));
                }
            });
        }

        @Override
        public void preStart() {
            pull(fromPredecessor); // the handshake
            pull(fromSuccessor); // to hear the successor's abort, or notice it going away
        }

        @Override
        public void postStop() {
            RingException reason = failure != null ? failure
                    : new RingException("ring member rank " + rank + " stopped: its stream was shut down"
                            + " (was its ActorSystem terminated?)", null);
            control.recordFailure(reason);
            if (stepDone != null) {
                stepDone.completeExceptionally(reason);
            }
            control.ready().completeExceptionally(reason);
            control.terminated().complete(null);
        }

        // ---- ring formation ----

        private void onPredecessorAccepted(InetSocketAddress address) {
            predecessor = new RingPeer(predecessor.rank(), RingPeer.Side.PREDECESSOR, address);
        }

        private void onConnecting(InetSocketAddress address) {
            successor = new RingPeer(successor.rank(), RingPeer.Side.SUCCESSOR, address);
            scheduleOnce(CONNECT, settings.connectTimeout());
        }

        private void onSuccessorConnected() {
            successorUp = true;
            maybeReady();
        }

        private void maybeReady() {
            if (helloReceived && successorUp && !control.ready().isDone()) {
                cancelTimer(CONNECT);
                control.ready().complete(null);
            }
        }

        private void checkHello(FrameHeader header, ByteBuffer payload) throws FrameException {
            if (helloReceived) {
                throw new FrameException("a second handshake arrived");
            }
            int[] fields = ChunkCodec.helloFields(payload);
            int theirRank = fields[0];
            int theirWorld = fields[1];
            int theirChunk = fields[2];
            if (theirWorld != worldSize || theirRank != predecessor.rank()) {
                throw new FrameException("it says it is rank " + theirRank + " of a ring of " + theirWorld
                        + ", but rank " + rank + " of a ring of " + worldSize + " expects rank " + predecessor.rank()
                        + " of " + worldSize + " (a peer of another ring, or a stale address)");
            }
            if (header.wire() != settings.wire() || theirChunk != settings.chunkElements()) {
                throw new FrameException("it uses wire format " + header.wire() + " with " + theirChunk
                        + "-element chunks, this member uses " + settings.wire() + " with " + settings.chunkElements()
                        + ": all members of a ring need the same settings");
            }
        }

        // ---- steps ----

        private void onStart(StepRequest request) {
            if (failure != null) {
                request.done().completeExceptionally(failure);
                return;
            }
            if (!control.ready().isDone()) {
                request.done().completeExceptionally(new IllegalStateException("ring member rank " + rank
                        + " is not connected yet: call connect() and wait until it completes"));
                return;
            }
            if (step != null) {
                request.done().completeExceptionally(new IllegalStateException("step " + step.stepId()
                        + " is still running on rank " + rank + ": one all-reduce at a time"));
                return;
            }
            RingPlan plan = new RingPlan(worldSize, rank, request.buffer().remaining(), settings.chunkElements());
            step = new StepProgress(plan, request.stepId(), settings.wire());
            buffer = request.buffer();
            stepDone = request.done();
            stepStartNanos = System.nanoTime();
            lastFrameNanos = stepStartNanos;
            long remaining = request.deadlineNanos() - stepStartNanos;
            if (remaining <= 0) {
                fail(timedOut());
                return;
            }
            scheduleOnce(DEADLINE, Duration.ofNanos(remaining));
            if (isAvailable(toSuccessor)) {
                sendNext();
            }
            readPending(); // bytes of this step may have arrived before it started
        }

        /** Reads what has arrived as far as the step wants, then asks for more if it needs it. */
        private void readPending() {
            try {
                reader.read(pending, frames);
            } catch (FrameException e) {
                fail(new RingProtocolException(predecessor, "rank " + rank + " rejected a frame from " + predecessor
                        + ": " + e.getMessage()));
                return;
            }
            if (failure != null) {
                return;
            }
            if (!pending.hasRemaining() && wantsFrames() && !hasBeenPulled(fromPredecessor)) {
                pull(fromPredecessor);
            }
            maybeComplete();
        }

        private boolean wantsFrames() {
            return !helloReceived || (step != null && step.awaitsFrames());
        }

        /** Applies frames to the running step as the reader finds them. */
        private final class Frames implements FrameReader.Listener {

            @Override
            public void control(FrameHeader header, ByteBuffer payload) throws FrameException {
                if (header.kind() == FrameHeader.ABORT) {
                    fail(new RingPeerGaveUpException(predecessor, "rank " + rank + ": " + predecessor + " gave up"
                            + during() + ": " + ChunkCodec.abortReason(payload), null));
                    return;
                }
                checkHello(header, payload);
                helloReceived = true;
                maybeReady();
            }

            @Override
            public void dataHeader(FrameHeader header) throws FrameException {
                if (!helloReceived) {
                    throw new FrameException("its first frame was not a handshake");
                }
                if (step == null) {
                    throw new FrameException("a frame arrived between steps"); // not read then; a bug if seen
                }
                step.check(header);
                RingPlan plan = step.plan();
                frameOffset = plan.chunkOffset(header.segment(), header.chunk());
                frameAdds = plan.isReduceScatter(header.phase());
                frameCompletesSum = plan.completesSum(header.phase());
            }

            @Override
            public void values(FrameHeader header, ByteBuffer data, int first, int count) {
                if (frameAdds) {
                    // The owner of a segment rounds its mean to bf16 too, so that every rank ends
                    // with bit-identical values (parameters must not drift apart between workers).
                    codec.accumulate(header, data, first, count, buffer, frameOffset,
                            frameCompletesSum ? 1f / worldSize : 1f, frameCompletesSum && header.wire() == WireFormat.BF16);
                } else {
                    codec.copy(header, data, first, count, buffer, frameOffset);
                }
            }

            @Override
            public boolean frameEnd(FrameHeader header) {
                if (header.kind() == FrameHeader.DATA) {
                    step.received(header);
                    lastFrameNanos = System.nanoTime();
                    if (isAvailable(toSuccessor)) {
                        sendNext(); // forward at once, even if more frames wait in this buffer
                    }
                }
                return wantsFrames();
            }
        }

        /** The successor's return channel: an abort, or a protocol error. */
        private final class ReturnChannel implements FrameReader.Listener {

            @Override
            public void control(FrameHeader header, ByteBuffer payload) throws FrameException {
                if (header.kind() != FrameHeader.ABORT) {
                    throw new FrameException("only an abort may come back against the ring's direction");
                }
                fail(new RingPeerGaveUpException(successor, "rank " + rank + ": " + successor + " gave up" + during()
                        + ": " + ChunkCodec.abortReason(payload), null));
            }

            @Override
            public void dataHeader(FrameHeader header) throws FrameException {
                throw new FrameException("data came back against the ring's direction");
            }

            @Override
            public void values(FrameHeader header, ByteBuffer data, int first, int count) {
                // Unreachable: dataHeader refuses every data frame.
            }

            @Override
            public boolean frameEnd(FrameHeader header) {
                return failure == null;
            }
        }

        private void sendNext() {
            if (!helloSent) {
                push(toSuccessor, codec.hello(settings.wire(), rank, worldSize, settings.chunkElements()));
                helloSent = true;
            } else if (step != null && step.hasFrameToSend()) {
                FrameHeader header = step.nextFrameToSend();
                int offset = step.plan().chunkOffset(header.segment(), header.chunk());
                push(toSuccessor, codec.data(header, buffer, offset));
                maybeComplete();
            }
        }

        private void maybeComplete() {
            if (step != null && step.isComplete()) {
                cancelTimer(DEADLINE);
                CompletableFuture<Void> done = stepDone;
                step = null;
                buffer = null;
                stepDone = null;
                done.complete(null);
            }
        }

        // ---- failures ----

        @Override
        public void onTimer(Object key) {
            if (DEADLINE.equals(key) && step != null) {
                fail(timedOut());
            } else if (CONNECT.equals(key) && !control.ready().isDone()) {
                String limit = settings.connectTimeout().toMillis() + " ms";
                if (!successorUp) {
                    fail(new RingTimeoutException(successor, "rank " + rank + " could not connect to " + successor
                            + " within " + limit));
                } else {
                    fail(new RingTimeoutException(predecessor, "rank " + rank + " (listening on " + hostPort(localAddress)
                            + ") got no handshake from " + predecessor + " within " + limit
                            + ": is that peer running, and did it connect to this address?"));
                }
            }
        }

        private RingTimeoutException timedOut() {
            long now = System.nanoTime();
            long waited = TimeUnit.NANOSECONDS.toMillis(now - stepStartNanos);
            long quiet = TimeUnit.NANOSECONDS.toMillis(now - lastFrameNanos);
            String where = "rank " + rank + ", step " + step.stepId() + ": deadline passed after " + waited + " ms ("
                    + step.progress() + "); ";
            if (step.awaitsFrames()) {
                return new RingTimeoutException(predecessor, where + "waiting for frames from " + predecessor
                        + ", none for " + quiet + " ms. The stall may be further round the ring; "
                        + "a peer that never started this step looks the same");
            }
            return new RingTimeoutException(successor, where + "waiting for " + successor + " to accept data");
        }

        private void successorGone(Throwable cause) {
            if (!successorUp) {
                fail(new RingPeerException(successor, "rank " + rank + " cannot connect to " + successor + ": "
                        + rootMessage(cause), cause));
            } else {
                fail(new RingPeerException(successor, "the connection to " + successor + " failed" + during() + ": "
                        + rootMessage(cause), cause));
            }
        }

        /**
         * Fails the running step, tells the neighbours why and stops the stage; the first reason
         * wins. Closing the member goes through here too, so its neighbours learn it was closed.
         */
        private void fail(RingException reason) {
            if (failure != null) {
                return;
            }
            failure = reason;
            control.recordFailure(reason);
            if (stepDone != null) {
                CompletableFuture<Void> done = stepDone;
                step = null;
                stepDone = null;
                done.completeExceptionally(reason);
            }
            control.ready().completeExceptionally(reason);
            // Tell both neighbours why, so that their errors carry the cause. A connection that
            // cannot take the frame now (blocked writes) is reset instead.
            ByteString abort = codec.abort(reason.getMessage());
            closeWith(toSuccessor, abort, reason);
            closeWith(toPredecessor, abort, reason);
            completeStage();
        }

        private void closeWith(Outlet<ByteString> out, ByteString abort, RingException reason) {
            if (isClosed(out)) {
                return;
            }
            if (isAvailable(out)) {
                push(out, abort);
                complete(out); // a graceful close: the frame goes out first
            } else {
                fail(out, reason); // the TCP stage resets the connection
            }
        }

        private String during() {
            return step == null ? "" : " during step " + step.stepId() + " (" + step.progress() + ")";
        }
    }

    static String hostPort(InetSocketAddress address) {
        return address == null ? "?" : address.getHostString() + ":" + address.getPort();
    }
}
