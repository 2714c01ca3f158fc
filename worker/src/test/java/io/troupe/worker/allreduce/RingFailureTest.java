package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every way a ring can go wrong ends in a clear exception, in time, never a hang. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RingFailureTest {

    private static final Duration DEADLINE = Duration.ofSeconds(1);
    /** How late after its deadline a failure may be reported (scheduling, the cascade round the ring). */
    private static final long SLACK_MILLIS = 1_500;
    private static ActorSystem system;

    @BeforeAll
    static void startSystem() {
        system = ActorSystem.create("ring-failure-test", ConfigFactory.parseString("pekko.loglevel = ERROR").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stopSystem() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aPeerThatNeverStartsTheStepFailsTheOthersAtTheDeadline() throws Exception {
        try (LoopbackRing ring = LoopbackRing.start(system, 3, RingSettings.defaults())) {
            List<FloatBuffer> buffers = RingBuffers.random(3, 100_000, 1);
            long start = System.nanoTime();
            // Rank 2 stalls: it never calls allReduceMean. Rank 1 would wait longer than rank 0.
            CompletionStage<Void> rank0 = ring.member(0).allReduceMean(buffers.get(0), 1, DEADLINE);
            CompletionStage<Void> rank1 = ring.member(1).allReduceMean(buffers.get(1), 1, DEADLINE.multipliedBy(5));

            // Rank 0 waits for frames from rank 2, its predecessor: that is whom it names.
            RingTimeoutException timeout = assertInstanceOf(RingTimeoutException.class, failure(rank0));
            long elapsed = millisSince(start);
            assertTrue(elapsed >= DEADLINE.toMillis() && elapsed < DEADLINE.toMillis() + SLACK_MILLIS, elapsed + " ms");
            assertEquals(new RingPeer(2, RingPeer.Side.PREDECESSOR, timeout.peer().address()), timeout.peer());
            assertTrue(timeout.getMessage().contains("rank 0, step 1: deadline passed"), timeout.getMessage());
            assertTrue(timeout.getMessage().contains("waiting for frames from predecessor rank 2 (127.0.0.1:"), timeout.getMessage());

            // Rank 0 tells its neighbours why it gave up: rank 1 fails at once, not at its own deadline.
            RingException cascaded = failure(rank1);
            assertTrue(millisSince(start) < DEADLINE.toMillis() + SLACK_MILLIS);
            // The abort reaches rank 1 from rank 0 directly or, first, relayed by rank 2 (which
            // hears it from rank 0 too): a race on the loopback. Either way it names the neighbour
            // it came from and carries rank 0's reason.
            String from = cascaded.peer().rank() == 0 ? "rank 1: predecessor rank 0 (127.0.0.1:" : "rank 1: successor rank 2 (127.0.0.1:";
            assertTrue(cascaded.peer().rank() == 0 || cascaded.peer().rank() == 2, cascaded.getMessage());
            assertTrue(cascaded.getMessage().contains(from), cascaded.getMessage());
            assertTrue(cascaded.getMessage().contains("gave up"), cascaded.getMessage());
            assertTrue(cascaded.getMessage().contains(timeout.getMessage()), cascaded.getMessage());

            // So does the stalled member: its own call fails at once with the reason.
            long late = System.nanoTime();
            RingException stalled = failure(ring.member(2).allReduceMean(buffers.get(2), 1, Duration.ofSeconds(30)));
            assertTrue(millisSince(late) < 2_000);
            assertTrue(stalled.getMessage().contains("deadline passed"), stalled.getMessage());
        }
    }

    @Test
    void aClosedPeerIsNamedByBothNeighbours() throws Exception {
        try (LoopbackRing ring = LoopbackRing.start(system, 3, RingSettings.defaults())) {
            List<FloatBuffer> buffers = RingBuffers.random(3, 1000, 2);
            ring.allReduceMean(buffers, 1, DEADLINE);
            ring.member(2).close();

            long start = System.nanoTime();
            RingException failure0 = failure(ring.member(0).allReduceMean(buffers.get(0), 2, DEADLINE));
            RingException failure1 = failure(ring.member(1).allReduceMean(buffers.get(1), 2, DEADLINE));
            assertTrue(millisSince(start) < DEADLINE.toMillis() + SLACK_MILLIS);

            // Rank 1 hears it from rank 2 directly; rank 0 from rank 2 or, first, from rank 1.
            assertInstanceOf(RingPeerException.class, failure1, failure1.getMessage());
            assertEquals(new RingPeer(2, RingPeer.Side.SUCCESSOR, failure1.peer().address()), failure1.peer());
            assertTrue(failure1.getMessage().contains("successor rank 2 (127.0.0.1:"), failure1.getMessage());
            for (RingException failure : List.of(failure0, failure1)) {
                assertInstanceOf(RingPeerException.class, failure, failure.getMessage());
                assertTrue(failure.getMessage().contains("ring member rank 2 was closed"), failure.getMessage());
            }
        }
    }

    @Test
    void aFrameOfAnotherStepIsRejected() throws Exception {
        try (LoopbackRing ring = LoopbackRing.start(system, 3, RingSettings.defaults())) {
            List<FloatBuffer> buffers = RingBuffers.random(3, 10_000, 3);
            List<CompletionStage<Void>> calls = new ArrayList<>();
            long[] steps = {7, 8, 8}; // rank 0's counter is off by one
            for (int r = 0; r < 3; r++) {
                calls.add(ring.member(r).allReduceMean(buffers.get(r), steps[r], DEADLINE));
            }
            // Rank 1 receives rank 0's frames of step 7 in step 8, and rank 0 rank 2's of step 8 in
            // step 7: one of them rejects a frame first, and every member's error says so.
            List<RingException> failures = new ArrayList<>();
            for (CompletionStage<Void> call : calls) {
                failures.add(failure(call));
            }
            RingProtocolException rejected = null;
            for (RingException failure : failures) {
                assertTrue(failure.getMessage().matches("(?s).*frame of step [78] \\(phase 0\\) arrived while this rank is in step [78].*"),
                        failure.getMessage());
                if (failure instanceof RingProtocolException protocol) {
                    rejected = protocol;
                }
            }
            assertNotNull(rejected, "some rank must have rejected the frame itself");
            assertEquals(RingPeer.Side.PREDECESSOR, rejected.peer().side(), "frames come from the predecessor");
        }
    }

    @Test
    void buffersOfDifferentSizesAreRejected() throws Exception {
        try (LoopbackRing ring = LoopbackRing.start(system, 2, RingSettings.defaults())) {
            CompletionStage<Void> rank0 = ring.member(0).allReduceMean(FloatBuffer.allocate(100), 1, DEADLINE);
            CompletionStage<Void> rank1 = ring.member(1).allReduceMean(FloatBuffer.allocate(101), 1, DEADLINE);
            for (RingException failure : List.of(failure(rank0), failure(rank1))) {
                assertTrue(failure.getMessage().matches("(?s).*a buffer of 10[01] floats on the sender but 10[01] here.*"),
                        failure.getMessage());
            }
        }
    }

    @Test
    void aPortInUseIsAClearError() throws Exception {
        try (RingAllReduce first = RingAllReduce.bind(system, 0, 2, new InetSocketAddress("127.0.0.1", 0), RingSettings.defaults())) {
            int port = first.localAddress().getPort();
            RingException e = assertThrows(RingException.class, () ->
                    RingAllReduce.bind(system, 1, 2, new InetSocketAddress("127.0.0.1", port), RingSettings.defaults()));
            assertTrue(e.getMessage().contains("cannot listen on 127.0.0.1:" + port), e.getMessage());
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
    }

    @Test
    void aSuccessorThatDoesNotListenIsAClearError() throws Exception {
        int deadPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            deadPort = socket.getLocalPort(); // free once closed: nothing listens there
        }
        RingSettings settings = RingSettings.defaults().withConnectTimeout(Duration.ofSeconds(2));
        try (RingAllReduce member = RingAllReduce.bind(system, 0, 2, new InetSocketAddress("127.0.0.1", 0), settings)) {
            RingException e = failure(member.connect(new InetSocketAddress("127.0.0.1", deadPort)));
            assertInstanceOf(RingPeerException.class, e, e.getMessage());
            assertEquals(1, e.peer().rank());
            assertTrue(e.getMessage().contains("cannot connect to successor rank 1 (127.0.0.1:" + deadPort + ")"), e.getMessage());
        }
    }

    @Test
    void aPredecessorThatNeverConnectsTimesOut() throws Exception {
        RingSettings settings = RingSettings.defaults().withConnectTimeout(Duration.ofMillis(800));
        try (RingAllReduce rank0 = RingAllReduce.bind(system, 0, 2, new InetSocketAddress("127.0.0.1", 0), settings);
             RingAllReduce rank1 = RingAllReduce.bind(system, 1, 2, new InetSocketAddress("127.0.0.1", 0), settings)) {
            // Rank 1 never calls connect(), so rank 0 never hears from its predecessor.
            RingException e = failure(rank0.connect(rank1.localAddress()));
            assertInstanceOf(RingTimeoutException.class, e, e.getMessage());
            assertEquals(RingPeer.Side.PREDECESSOR, e.peer().side());
            assertTrue(e.getMessage().contains("no handshake from predecessor rank 1"), e.getMessage());
        }
    }

    @Test
    void membersWithDifferentSettingsRefuseEachOther() throws Exception {
        try (RingAllReduce rank0 = RingAllReduce.bind(system, 0, 2, new InetSocketAddress("127.0.0.1", 0), RingSettings.defaults());
             RingAllReduce rank1 = RingAllReduce.bind(system, 1, 2, new InetSocketAddress("127.0.0.1", 0),
                     RingSettings.defaults().withWire(WireFormat.BF16))) {
            RingException protocol = firstProtocolFailure(rank0.connect(rank1.localAddress()), rank1.connect(rank0.localAddress()));
            assertTrue(protocol.getMessage().contains("wire format"), protocol.getMessage());
            assertTrue(protocol.getMessage().contains("all members of a ring need the same settings"), protocol.getMessage());
        }
    }

    @Test
    void aPeerOfTheWrongRankIsRefused() throws Exception {
        // Two members that both think they are rank 0 of 2: each expects its predecessor to be rank 1.
        try (RingAllReduce a = RingAllReduce.bind(system, 0, 2, new InetSocketAddress("127.0.0.1", 0), RingSettings.defaults());
             RingAllReduce b = RingAllReduce.bind(system, 0, 2, new InetSocketAddress("127.0.0.1", 0), RingSettings.defaults())) {
            RingException e = firstProtocolFailure(a.connect(b.localAddress()), b.connect(a.localAddress()));
            assertTrue(e.getMessage().contains("says it is rank 0 of a ring of 2"), e.getMessage());
            assertTrue(e.getMessage().contains("expects rank 1 of 2"), e.getMessage());
        }
    }

    @Test
    void callingBeforeTheRingIsFormedIsAnIllegalState() throws Exception {
        try (RingAllReduce member = RingAllReduce.bind(system, 0, 2, new InetSocketAddress("127.0.0.1", 0), RingSettings.defaults())) {
            CompletableFuture<Void> call = member.allReduceMean(FloatBuffer.allocate(4), 1, DEADLINE).toCompletableFuture();
            CompletionException e = assertThrows(CompletionException.class, call::join);
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("not connected yet"), e.getCause().getMessage());
        }
    }

    @Test
    void aClosedMemberSaysSo() throws Exception {
        RingAllReduce member;
        try (LoopbackRing ring = LoopbackRing.start(system, 2, RingSettings.defaults())) {
            member = ring.member(0);
        }
        RingException e = failure(member.allReduceMean(FloatBuffer.allocate(4), 1, DEADLINE));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    /**
     * Both members check the other's handshake; whichever checks first aborts, and the other may
     * see only the reset. Both must fail, and at least one must name the mismatch.
     */
    private static RingException firstProtocolFailure(CompletionStage<Void> a, CompletionStage<Void> b) throws Exception {
        RingException first = failure(a);
        RingException second = failure(b);
        RingException protocol = first instanceof RingProtocolException ? first : second;
        assertInstanceOf(RingProtocolException.class, protocol, first.getMessage() + " / " + second.getMessage());
        return protocol;
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** The failure of a stage that must fail, within the test's own bound. */
    private static RingException failure(CompletionStage<Void> stage) throws Exception {
        try {
            stage.toCompletableFuture().get(15, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            return assertInstanceOf(RingException.class, e.getCause(), String.valueOf(e.getCause()));
        }
        throw new AssertionError("expected the all-reduce to fail, it succeeded");
    }
}
