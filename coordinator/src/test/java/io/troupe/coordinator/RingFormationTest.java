package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.coordinator.Membership.Member;
import io.troupe.worker.job.protocol.ConnectRing;
import io.troupe.worker.job.protocol.FormRing;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.Probe;
import io.troupe.worker.job.protocol.ProbeReply;
import io.troupe.worker.job.protocol.WorkerHello;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;

/** The ring formation's decisions, without an actor system: each worker's messages land in a list. */
class RingFormationTest {
    private static final ElasticPolicy POLICY = new ElasticPolicy(2, 3, Duration.ofSeconds(1), Duration.ofSeconds(60));

    private final Membership members = new Membership();
    private final RingFormation formation = new RingFormation("job");
    private final Map<String, List<JobMessage>> sent = new HashMap<>();

    private Member ready(String ref, int statePort) {
        return ready(ref, statePort, false);
    }

    private Member ready(String ref, int statePort, boolean standby) {
        List<JobMessage> inbox = new ArrayList<>();
        sent.put(ref, inbox);
        Member m = members.admit(ref, new Address("pekko", "troupe", ref, 1), inbox::add,
                new WorkerHello(null, "v", 1, "cpu", "127.0.0.1", "", standby));
        members.prepared(m, new InetSocketAddress("127.0.0.1", statePort));
        return m;
    }

    private <T extends JobMessage> T last(Member m, Class<T> type) {
        List<JobMessage> inbox = sent.get(m.ref);
        return type.cast(inbox.get(inbox.size() - 1));
    }

    private void answer(Member m, long step, long checksum) {
        Probe p = last(m, Probe.class);
        formation.answered(m, new ProbeReply("job", p.generation(), null, step, checksum, false));
    }

    /** Probes, every member in {@code answering} answers at {@code step} with checksum 7, and the ring is planned. */
    private RingFormation.Next probeAndPlan(ElasticPolicy policy, long step, Member... answering) {
        formation.probe(members);
        for (Member m : answering) {
            answer(m, step, 7);
        }
        return formation.plan(members, policy, step, -1, null);
    }

    @Test
    void aProbeGoesToEveryReadyWorkerAndTheRingIsPlannedWhenAllAnswered() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        formation.probe(members);
        assertEquals(1, formation.generation());
        assertEquals(1, last(b, Probe.class).generation());
        answer(a, 4, 7);
        assertFalse(formation.allProbed(members));
        answer(b, 4, 7);
        assertTrue(formation.allProbed(members));
        RingFormation.Form form = assertInstanceOf(RingFormation.Form.class, formation.plan(members, POLICY, 4, -1, null));
        assertEquals(4, form.plan().step());
        assertEquals(0, form.membershipChanges(), "the first ring changes no membership");
        assertEquals(List.of(a, b), formation.ring());
        FormRing toB = last(b, FormRing.class);
        assertEquals(1, toB.rank());
        assertEquals(2, toB.worldSize());
        assertEquals(0, toB.syncPort(), "b holds the state already");
    }

    @Test
    void fewerAnswersThanMinWorkersPauseTheJob() {
        Member a = ready("a", 1);
        formation.probe(members);
        answer(a, 0, 7);
        RingFormation.Pause pause = assertInstanceOf(RingFormation.Pause.class, formation.plan(members, POLICY, 0, -1, null));
        assertEquals(1, pause.available());
        assertTrue(formation.ring().isEmpty());
    }

    @Test
    void whenNobodyHoldsTheCommittedStateTheStateIsLost() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        formation.probe(members);
        answer(a, 3, 7);
        answer(b, 3, 7);
        assertInstanceOf(RingFormation.Lost.class, formation.plan(members, POLICY, 5, -1, null));
    }

    @Test
    void aSilentMemberOfTheLastRingIsWaitedForWhenNobodyWhoAnsweredHoldsTheCommittedState() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        Member c = ready("c", 3);
        formation.probe(members);
        answer(a, 4, 7);
        answer(b, 4, 7);
        answer(c, 4, 7);
        formation.plan(members, POLICY, 4, -1, null); // the ring a, b, c holds step 4
        formation.probe(members);
        answer(c, 0, 1); // c restarted empty; a and b (the holders) are paused
        assertTrue(formation.silentMemberMayHoldCommittedState(members, 4, false));
        assertFalse(formation.silentMemberMayHoldCommittedState(members, 4, true), "a checkpoint serves step 4");
        answer(a, 4, 7);
        assertFalse(formation.silentMemberMayHoldCommittedState(members, 4, false), "a holder answered");
    }

    @Test
    void aSilentNewcomerIsNotWaitedForAsAHolder() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        formation.probe(members);
        answer(a, 4, 7);
        answer(b, 4, 7);
        formation.plan(members, POLICY, 4, -1, null);
        ready("newcomer", 3);
        formation.probe(members);
        answer(a, 3, 7); // a lags behind the committed step; b has answered nothing yet
        assertTrue(formation.silentMemberMayHoldCommittedState(members, 4, false), "b was in the last ring");
        answer(b, 3, 7);
        assertFalse(formation.silentMemberMayHoldCommittedState(members, 4, false),
                "only the newcomer is silent, and it was never in a ring");
    }

    @Test
    void aNewcomerCountsAsAMembershipChangeAndSyncsFromTheRing() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        formation.probe(members);
        answer(a, 2, 7);
        answer(b, 2, 7);
        formation.plan(members, POLICY, 2, -1, null);
        String firstToken = last(a, FormRing.class).ringToken();
        Member c = ready("c", 3);
        formation.probe(members);
        answer(a, 2, 7);
        answer(b, 2, 7);
        answer(c, 0, 0);
        RingFormation.Form form = assertInstanceOf(RingFormation.Form.class, formation.plan(members, POLICY, 2, -1, null));
        assertEquals(1, form.membershipChanges());
        assertEquals(List.of(a, b, c), formation.ring(), "the previous ring keeps its order");
        FormRing toC = last(c, FormRing.class);
        assertEquals(1, toC.syncPort(), "the newcomer fetches rank 0's state");
        assertEquals(2, toC.syncStep());
        // Every member of a ring gets the same secret token; each ring gets a new one.
        FormRing toA = last(a, FormRing.class);
        assertEquals(32, toC.ringToken().length(), "128 random bits, in hex");
        assertEquals(toA.ringToken(), toC.ringToken());
        assertNotEquals(firstToken, toA.ringToken(), "a new generation, a new token");
    }

    @Test
    void eachGenerationsStateTokenIsFreshAndGoesWithItsProbeAndRing() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        formation.probe(members);
        String first = last(a, Probe.class).stateToken();
        assertEquals(32, first.length(), "128 random bits, in hex");
        assertEquals(first, last(b, Probe.class).stateToken(), "every member of a generation serves to the same");
        assertEquals(first, formation.stateToken());
        answer(a, 2, 7);
        answer(b, 2, 7);
        formation.plan(members, POLICY, 2, -1, null);
        assertEquals(first, last(b, FormRing.class).stateToken(), "the ring assignment carries the probe's token");
        assertNotEquals(last(b, FormRing.class).ringToken(), first, "state and ring tokens are separate secrets");

        Member c = ready("c", 3);
        formation.probe(members);
        String second = last(c, Probe.class).stateToken();
        assertNotEquals(first, second, "the next generation's token: the first is stale");
        answer(a, 2, 7);
        answer(b, 2, 7);
        answer(c, 0, 0);
        formation.plan(members, POLICY, 2, -1, null);
        FormRing toC = last(c, FormRing.class);
        assertEquals(1, toC.syncPort(), "the newcomer fetches rank 0's state");
        assertEquals(second, toC.stateToken(), "with the token rank 0 was told to admit");
    }

    @Test
    void onlySilentSuspectsDoNotHoldTheProbeUp() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        formation.probe(members);
        answer(a, 1, 7);
        answer(b, 1, 7);
        formation.plan(members, POLICY, 1, -1, null);
        assertFalse(formation.suspect(1, 0), "a report of another generation does not count");
        assertTrue(formation.suspect(1, 1));
        formation.probe(members);
        answer(a, 1, 7);
        assertTrue(formation.onlySuspectsSilent(members));
        assertEquals(List.of(b), formation.silent(members));
    }

    @Test
    void aSilentWorkerThatIsNotSuspectedIsWaitedFor() {
        Member a = ready("a", 1);
        ready("b", 2);
        formation.probe(members);
        answer(a, 1, 7);
        assertFalse(formation.onlySuspectsSilent(members));
    }

    @Test
    void everyRankLinksToItsSuccessorOnceAllAreBoundAndTheRingIsFormedWhenAllLinked() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        formation.probe(members);
        answer(a, 0, 7);
        answer(b, 0, 7);
        formation.plan(members, POLICY, 0, -1, null);
        assertFalse(formation.bound(a, new JobReady("job", 0, true, "", "10.0.0.1", 5001, 1, null, "", 0)));
        assertTrue(formation.bound(b, new JobReady("job", 1, true, "", "10.0.0.2", 5002, 1, null, "", 0)));
        ConnectRing fromA = last(a, ConnectRing.class);
        assertEquals(5002, fromA.successorPort());
        assertEquals(5001, last(b, ConnectRing.class).successorPort(), "the last rank links to rank 0");
        assertFalse(formation.linked(0));
        assertTrue(formation.linked(1));
    }

    @Test
    void formingFailsTheJobOnlyAfterTooManyFailuresInARow() {
        for (int i = 0; i < RingFormation.MAX_FAILED_FORMS; i++) {
            assertFalse(formation.formFailedTooOften());
        }
        assertTrue(formation.formFailedTooOften());
    }

    /** Two seats (--max-workers 2). */
    private static final ElasticPolicy TWO_SEATS = new ElasticPolicy(1, 2, Duration.ofSeconds(1), Duration.ofSeconds(60));

    @Test
    void aStandbyTakesASeatOnlyWhenNoRegularWorkerCanAndKeepsIt() {
        Member spare = ready("spare", 9, true); // offered itself first
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        probeAndPlan(TWO_SEATS, 0, spare, a, b);
        assertEquals(List.of(a, b), formation.ring(), "the regular workers get the seats");
        assertTrue(sent.get("spare").stream().noneMatch(FormRing.class::isInstance), "the standby waits in reserve");

        members.lose(new Address("pekko", "troupe", "a", 1)); // a dies
        formation.probe(members);
        answer(b, 5, 7);
        answer(spare, 0, 7);
        RingFormation.Form form = assertInstanceOf(RingFormation.Form.class,
                formation.plan(members, TWO_SEATS, 5, -1, null));
        assertEquals(List.of(b, spare), formation.ring(), "the standby is promoted");
        assertEquals(2, last(spare, FormRing.class).syncPort(), "it fetches b's state");
        assertEquals(2, form.membershipChanges());

        Member c = ready("c", 3); // a regular worker comes back: it waits, the seated standby stays
        formation.probe(members);
        answer(b, 8, 7);
        answer(spare, 8, 7);
        answer(c, 0, 1);
        formation.plan(members, TWO_SEATS, 8, -1, null);
        assertEquals(List.of(b, spare), formation.ring());
    }

    @Test
    void aReserveThatAnswersOneProbeLateStaysPreparedAndIsLetGoAfterTwoMissesInARow() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        Member reserve = ready("reserve", 3);
        probeAndPlan(TWO_SEATS, 0, a, b, reserve);
        assertEquals(List.of(a, b), formation.ring());

        formation.probe(members); // the reserve is slow to answer (a loaded machine)
        answer(a, 4, 7);
        answer(b, 4, 7);
        RingFormation.Silence first = formation.silence(members);
        assertEquals(List.of(reserve), first.kept(), "one miss keeps its preparation");
        assertEquals(List.of(), first.release());
        assertInstanceOf(RingFormation.Form.class, formation.plan(members, TWO_SEATS, 4, -1, null));
        assertEquals(List.of(a, b), formation.ring(), "the ring is planned without the silent reserve");
        assertTrue(formation.answeredLate(reserve), "its late answer finds it in reserve");

        formation.probe(members); // silent again: the late answer started its count over
        answer(a, 6, 7);
        answer(b, 6, 7);
        assertEquals(List.of(reserve), formation.silence(members).kept());
        formation.plan(members, TWO_SEATS, 6, -1, null);
        formation.probe(members); // and again, with no answer in between: it is let go
        answer(a, 7, 7);
        answer(b, 7, 7);
        RingFormation.Silence second = formation.silence(members);
        assertEquals(List.of(reserve), second.release());
        assertEquals(List.of(), second.kept());
    }

    @Test
    void aWorkerThatGetsReadyWhileAProbeIsOutIsNotWaitedForAndJoinsIfTheRingHasRoom() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        formation.probe(members);
        Member late = ready("late", 3); // the probe did not go to it
        answer(a, 0, 7);
        answer(b, 0, 7);
        assertTrue(formation.allProbed(members));
        assertEquals(List.of(), formation.silent(members));
        formation.requestReform(); // as the coordinator does for a newly ready worker
        formation.plan(members, TWO_SEATS, 0, -1, null);
        assertEquals(List.of(a, b), formation.ring());
        assertFalse(formation.reformRequested(), "the ring is full: the join request is settled");
        assertTrue(sent.get("late").isEmpty());

        members.lose(new Address("pekko", "troupe", "b", 1)); // b dies...
        members.lose(new Address("pekko", "troupe", "late", 1));
        formation.probe(members);
        Member restarted = ready("restarted", 4); // ...and offers itself again while the probe is out
        answer(a, 3, 7);
        formation.plan(members, TWO_SEATS, 3, -1, null);
        assertEquals(List.of(a), formation.ring());
        assertTrue(formation.reformRequested(), "a seat is free: it joins at the next step boundary");
        formation.probe(members);
        answer(a, 4, 7);
        answer(restarted, 0, 1);
        formation.plan(members, TWO_SEATS, 4, -1, null);
        assertEquals(List.of(a, restarted), formation.ring());
        assertFalse(formation.reformRequested());
    }

    @Test
    void aSilentMemberOfTheLastRingIsLetGoAtTheFirstMiss() {
        Member a = ready("a", 1);
        Member b = ready("b", 2);
        probeAndPlan(TWO_SEATS, 0, a, b);
        formation.probe(members);
        answer(a, 3, 7);
        RingFormation.Silence silence = formation.silence(members);
        assertEquals(List.of(b), silence.release(), "a ring member that does not answer is probably dead");
        assertEquals(List.of(), silence.kept());
    }

    @Test
    void aProbeAfterAFailureWaitsLongerWhenStepsAreSlow() {
        assertEquals(Duration.ofSeconds(1), RingFormation.probeWait(POLICY, true, 0.1));
        assertEquals(Duration.ofSeconds(5), RingFormation.probeWait(POLICY, true, 2.5));
        assertEquals(Duration.ofSeconds(60), RingFormation.probeWait(POLICY, false, 0.1), "nobody died: form timeout");
    }
}
