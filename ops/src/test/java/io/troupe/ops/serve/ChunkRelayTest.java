package io.troupe.ops.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ChunkRelayTest {
    private static ActorSystem system;

    @BeforeAll
    static void start() {
        system = ActorSystem.create("chunk-relay-test");
    }

    @AfterAll
    static void stop() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static ByteString bytes(String s) {
        return ByteString.fromString(s);
    }

    private static List<String> collect(ChunkRelay relay) throws Exception {
        return relay.source().map(ByteString::utf8String).runWith(Sink.seq(), system)
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void chunksOfferedBeforeTheBodyIsMaterializedComeFirstAndInOrder() throws Exception {
        AtomicInteger gone = new AtomicInteger();
        ChunkRelay relay = new ChunkRelay(8, gone::incrementAndGet);
        assertTrue(relay.offer(bytes("a")));
        assertTrue(relay.offer(bytes("b")));
        relay.complete(); // the whole generation ended before pekko-http materialized the body

        assertEquals(List.of("a", "b"), collect(relay));
        assertEquals(0, gone.get(), "a body that ends after complete() is not a client going away");
        assertFalse(relay.offer(bytes("late")), "nothing is accepted after complete()");
    }

    @Test
    void chunksOfferedAfterMaterializationFollowTheEarlyOnes() throws Exception {
        AtomicInteger gone = new AtomicInteger();
        ChunkRelay relay = new ChunkRelay(8, gone::incrementAndGet);
        relay.offer(bytes("1"));
        var result = relay.source().map(ByteString::utf8String).runWith(Sink.seq(), system);
        for (int i = 2; i <= 5; i++) {
            assertTrue(relay.offer(bytes(Integer.toString(i))));
        }
        relay.complete();

        assertEquals(List.of("1", "2", "3", "4", "5"), result.toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertEquals(0, gone.get());
    }

    @Test
    void aClientThatCancelsIsReportedOnceAndLaterOffersAreRefused() throws Exception {
        AtomicInteger gone = new AtomicInteger();
        ChunkRelay relay = new ChunkRelay(8, gone::incrementAndGet);
        relay.offer(bytes("first"));
        // The client reads one chunk and disconnects.
        assertEquals("first", relay.source().map(ByteString::utf8String).runWith(Sink.head(), system)
                .toCompletableFuture().get(10, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (gone.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(1, gone.get(), "the generation must be told that its client went away");
        assertFalse(relay.offer(bytes("second")));
        relay.complete(); // the scheduler's onFinished still runs: harmless
        assertEquals(1, gone.get(), "reported exactly once");
    }

    @Test
    void aFullBacklogBeforeMaterializationRefusesAndReportsTheClientGone() {
        AtomicInteger gone = new AtomicInteger();
        ChunkRelay relay = new ChunkRelay(2, gone::incrementAndGet);
        assertTrue(relay.offer(bytes("a")));
        assertTrue(relay.offer(bytes("b")));
        assertFalse(relay.offer(bytes("c")), "a third chunk exceeds the capacity of 2");
        assertEquals(1, gone.get());
    }

    @Test
    void aSecondMaterializationGetsAnEmptyBody() throws Exception {
        ChunkRelay relay = new ChunkRelay(4, () -> { });
        relay.offer(bytes("x"));
        relay.complete();
        assertEquals(List.of("x"), collect(relay));
        assertEquals(List.of(), collect(relay));
    }
}
