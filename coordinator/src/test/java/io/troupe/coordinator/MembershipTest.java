package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.coordinator.Membership.Member;
import io.troupe.worker.job.protocol.WorkerHello;
import java.net.InetSocketAddress;
import java.util.List;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;

/** Who is in a job, without an actor system. */
class MembershipTest {
    private static final Address NODE_A = new Address("pekko", "troupe", "10.0.0.1", 2551);
    private static final Address NODE_B = new Address("pekko", "troupe", "10.0.0.2", 2551);
    private static final WorkerHello HELLO = new WorkerHello(null, "v", 1, "cpu", "127.0.0.1");

    private final Membership members = new Membership();

    private Member admit(String ref, Address node) {
        return members.admit(ref, node, message -> { }, HELLO);
    }

    @Test
    void workersAreSeededInTheOrderTheyOfferThemselvesAndAreAdmittedOnce() {
        Member a = admit("a", NODE_A);
        Member b = admit("b", NODE_B);
        assertEquals(0, a.seedRank);
        assertEquals(1, b.seedRank);
        assertNull(admit("a", NODE_A), "a live member offering itself again is not admitted twice");
        assertSame(a, members.live("a"));
    }

    @Test
    void onlyPreparedWorkersThatStayCountAsReady() {
        Member a = admit("a", NODE_A);
        Member b = admit("b", NODE_B);
        assertEquals(0, members.readyToStay(), "preparing workers are not ready");
        members.prepared(a, new InetSocketAddress("127.0.0.1", 1));
        members.prepared(b, new InetSocketAddress("127.0.0.1", 2));
        assertEquals(2, members.readyToStay());
        members.markLeaving(b);
        assertEquals(1, members.readyToStay(), "a worker that asked to leave does not count");
        assertEquals(List.of(a, b), members.ready(), "but it is still ready until it is let go");
    }

    @Test
    void aLostNodeTakesAllItsWorkersAndOnlyThem() {
        Member a1 = admit("a1", NODE_A);
        Member a2 = admit("a2", NODE_A);
        Member b = admit("b", NODE_B);
        members.prepared(a1, new InetSocketAddress("127.0.0.1", 1));
        assertEquals(List.of(a1, a2), members.lose(NODE_A));
        assertEquals(List.of(b), members.live());
        assertNull(members.live("a1"));
        assertTrue(members.lose(NODE_A).isEmpty(), "a node is lost once");
    }

    @Test
    void aWorkerLetGoMayOfferItselfAgainAndIsAdmittedAfresh() {
        Member a = admit("a", NODE_A);
        members.drop(a);
        assertFalse(members.anyLive());
        Member again = admit("a", NODE_A);
        assertNotNull(again);
        assertEquals(1, again.seedRank, "a new offer gets the next seed rank");
        assertTrue(members.anyLive());
    }
}
