package io.troupe.coordinator;

import io.troupe.coordinator.Membership.Member;
import io.troupe.worker.allreduce.RingAdmission;
import io.troupe.worker.job.protocol.ConnectRing;
import io.troupe.worker.job.protocol.FormRing;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.Probe;
import io.troupe.worker.job.protocol.ProbeReply;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Forms the job's ring, one generation at a time: probe every ready worker for its step and
 * checksum, plan the ring from the answers ({@link RingPlanner}), tell each member its rank
 * (and whom to sync from), then link each bound rank to its successor. It remembers the ring
 * last formed (membership changes count against it) and which of its members a neighbour
 * suspects dead, so a probe need not wait long for them.
 */
final class RingFormation {
    /** A failed ring is formed again at most this many times in a row before the job fails. */
    static final int MAX_FAILED_FORMS = 5;
    /**
     * A prepared worker in reserve that misses this many probes in a row is let go. One miss is
     * not enough: on a loaded machine a live reserve can answer after the probe's deadline, and
     * letting it go throws away its preparation (data, engines) just when it is needed.
     */
    static final int RESERVE_MISSES_BEFORE_RELEASE = 2;

    /**
     * The members that did not answer a probe, split by what happens to them: {@code release}d
     * (members of the last ring, suspects, reserves that missed too many probes) or {@code kept}
     * in reserve, prepared, for the next ring.
     */
    record Silence(List<Member> release, List<Member> kept) {
    }

    /** What follows a probe. */
    sealed interface Next permits Pause, Lost, Form {
    }

    /** Fewer workers answered than the job's minimum: the job pauses. */
    record Pause(int available) implements Next {
    }

    /** Nobody who answered holds the committed state, and no checkpoint is served. */
    record Lost() implements Next {
    }

    /**
     * The next ring is planned and its members were told their ranks.
     *
     * @param plan the planner's decision
     * @param membershipChanges members added plus removed against the previous ring
     */
    record Form(RingPlanner.Plan plan, long membershipChanges) implements Next {
    }

    private final String jobId;
    private long generation;
    private final List<Member> ring = new ArrayList<>();
    /** The last ring formed: a pause empties {@link #ring}, but membership changes count against this. */
    private final List<Member> lastFormed = new ArrayList<>();
    private long formedGeneration = -1;
    /** Workers whose ring links broke under their neighbours since the ring was formed. */
    private final Set<String> suspects = new HashSet<>();
    /**
     * The members this generation's probe went to. A worker that gets ready while a probe is out
     * is not waited for: it was not asked, and it enters at a step boundary if the ring has room.
     */
    private final Set<Member> asked = new HashSet<>();
    private final Map<Member, ProbeReply> probes = new HashMap<>();
    /** Probes in a row that a reserve member (not in the last ring) did not answer in time. */
    private final Map<String, Integer> missedProbes = new HashMap<>();
    private final Map<Member, JobReady> bound = new HashMap<>();
    private final Set<Integer> linked = new HashSet<>();
    private int failedForms;
    private boolean reformRequested;
    /** This generation's state token: only fetches presenting it are served (issue 16). */
    private String stateToken = "";

    RingFormation(String jobId) {
        this.jobId = jobId;
    }

    long generation() {
        return generation;
    }

    /** The state token of the current generation, sent in its probe and ring assignment. */
    String stateToken() {
        return stateToken;
    }

    /** The current ring in rank order (empty while paused). */
    List<Member> ring() {
        return ring;
    }

    /** Asks for a new ring at the next step boundary (a worker joined, is leaving, or drifted). */
    void requestReform() {
        reformRequested = true;
    }

    boolean reformRequested() {
        return reformRequested;
    }

    /**
     * Starts the next generation: forgets the last one's answers, draws the generation's state
     * token and sends every ready member the probe carrying it.
     */
    void probe(Membership members) {
        generation++;
        reformRequested = false;
        probes.clear();
        asked.clear();
        asked.addAll(members.ready());
        bound.clear();
        linked.clear();
        // A fresh secret per generation: a member's state is served only to the job's members of
        // this generation, and a token learnt earlier (e.g. by a worker since released) is stale.
        stateToken = RingAdmission.issue(generation).token();
        Probe probe = new Probe(jobId, generation, stateToken);
        members.ready().forEach(m -> m.tell(probe));
    }

    /**
     * How long a probe waits. After a failure: the policy's floor, raised to twice the slowest
     * recent step. Otherwise nobody is known to have died: every worker gets time (a cold JVM
     * encodes its first state slowly); a dead one is still noticed by the failure detector.
     */
    static Duration probeWait(ElasticPolicy policy, boolean failure, double slowestRecentStepSeconds) {
        if (!failure) {
            return policy.formTimeout();
        }
        long slowest = (long) (2000 * slowestRecentStepSeconds);
        return slowest > policy.probeTimeout().toMillis() ? Duration.ofMillis(slowest) : policy.probeTimeout();
    }

    /**
     * True when planning now would lose the job to a pause rather than a death: nobody who answered
     * holds the committed state ({@code committed}) and no checkpoint serves it, yet a silent member
     * was in the last ring formed and may hold it. A stopped or GC-paused holder answers late; a
     * dead one is removed by the failure detector, after which the plan says {@link Lost}.
     */
    boolean silentMemberMayHoldCommittedState(Membership members, long committed, boolean checkpointServesIt) {
        if (checkpointServesIt) {
            return false;
        }
        boolean answeredHolder = false;
        boolean silentFromLastRing = false;
        for (Member m : askedAndReady(members)) {
            ProbeReply reply = probes.get(m);
            if (reply != null) {
                answeredHolder |= reply.step() >= committed;
            } else {
                silentFromLastRing |= lastFormed.contains(m);
            }
        }
        return !answeredHolder && silentFromLastRing;
    }

    void answered(Member m, ProbeReply reply) {
        probes.put(m, reply);
        missedProbes.remove(m.ref);
    }

    /**
     * A reply to a probe that was already planned without it: the member is alive after all, so
     * its count of missed probes starts over. Returns true when it is a member in reserve (not in
     * the ring), which the caller may take into a ring with room.
     */
    boolean answeredLate(Member m) {
        missedProbes.remove(m.ref);
        return m.ready() && !ring.contains(m);
    }

    /**
     * Decides about the members that did not answer this generation's probe. A member of the last
     * ring or a suspect is let go (it is probably dead, and a live one offers itself again). A
     * reserve member stays prepared in reserve until it has missed {@link
     * #RESERVE_MISSES_BEFORE_RELEASE} probes in a row: the ring is planned without it this time.
     */
    Silence silence(Membership members) {
        List<Member> release = new ArrayList<>();
        List<Member> kept = new ArrayList<>();
        for (Member m : silent(members)) {
            boolean reserve = !lastFormed.contains(m) && !suspects.contains(m.ref);
            int missed = missedProbes.merge(m.ref, 1, Integer::sum);
            if (reserve && missed < RESERVE_MISSES_BEFORE_RELEASE) {
                kept.add(m);
            } else {
                missedProbes.remove(m.ref);
                release.add(m);
            }
        }
        return new Silence(release, kept);
    }

    /** The ready members this generation's probe went to. */
    private List<Member> askedAndReady(Membership members) {
        return members.ready().stream().filter(asked::contains).toList();
    }

    /** True when every ready member this generation's probe went to answered it. */
    boolean allProbed(Membership members) {
        return askedAndReady(members).stream().allMatch(probes::containsKey);
    }

    /** True when every asked, ready member that has not answered is a suspect (and some has not). */
    boolean onlySuspectsSilent(Membership members) {
        boolean silentSuspect = false;
        for (Member m : askedAndReady(members)) {
            if (!probes.containsKey(m)) {
                if (!suspects.contains(m.ref)) {
                    return false;
                }
                silentSuspect = true;
            }
        }
        return silentSuspect;
    }

    /**
     * A member of the ring formed in {@code ofGeneration} saw the link to rank {@code rank}
     * break: that worker is probably dead. Returns true when it counts (the rank is of the last
     * ring formed).
     */
    boolean suspect(int rank, long ofGeneration) {
        if (rank < 0 || ofGeneration != formedGeneration || rank >= lastFormed.size()) {
            return false;
        }
        suspects.add(lastFormed.get(rank).ref);
        return true;
    }

    /** Ready members that did not answer this generation's probe (of those it went to). */
    List<Member> silent(Membership members) {
        return askedAndReady(members).stream().filter(m -> !probes.containsKey(m)).toList();
    }

    /**
     * Plans the next ring from the members that answered (the caller has let the leaving ones go)
     * and, unless it pauses or the state is lost, tells each its rank. Seats go to the last ring's
     * members first (in their order), then to regular newcomers, then to standbys: a standby
     * fills a seat that no regular worker can, and a seated worker is never moved out for a
     * newcomer (that would cost a re-form and gain nothing).
     *
     * @param committed the last step every ring member completed
     * @param fallbackStep the step of the checkpoint the coordinator serves at {@code fallback}, or -1
     */
    Next plan(Membership members, ElasticPolicy policy, long committed, long fallbackStep,
              InetSocketAddress fallback) {
        List<Member> previous = new ArrayList<>(lastFormed);
        List<Member> candidates = new ArrayList<>();
        for (Member m : previous) {
            if (m.ready() && probes.containsKey(m)) {
                candidates.add(m);
            }
        }
        for (boolean standby : new boolean[] {false, true}) {
            for (Member m : members.ready()) {
                if (m.standby() == standby && probes.containsKey(m) && !candidates.contains(m)) {
                    candidates.add(m);
                }
            }
        }
        if (candidates.size() < policy.minWorkers()) {
            ring.clear();
            return new Pause(candidates.size());
        }
        List<RingPlanner.Candidate> offered = new ArrayList<>();
        Map<String, Member> byRef = new HashMap<>();
        for (Member m : candidates) {
            ProbeReply p = probes.get(m);
            offered.add(new RingPlanner.Candidate(m.ref, p.step(), p.paramChecksum(), m.stateAddress()));
            byRef.put(m.ref, m);
        }
        long fallbackAt = Math.max(fallbackStep, committed);
        RingPlanner.Plan plan = RingPlanner.plan(offered, policy.maxWorkers(), fallbackAt,
                fallbackStep >= 0 ? fallback : null);
        if (plan.step() < committed) {
            return new Lost();
        }
        ring.clear();
        plan.ring().forEach(ref -> ring.add(byRef.get(ref)));
        long changes = 0;
        if (!previous.isEmpty() && !previous.equals(ring)) {
            changes = ring.stream().filter(m -> !previous.contains(m)).count()
                    + previous.stream().filter(m -> !ring.contains(m)).count();
        }
        lastFormed.clear();
        lastFormed.addAll(ring);
        formedGeneration = generation;
        // Workers that got ready while this probe was out were not asked, so they are not in
        // this ring: they join at the next step boundary if it has room (a restarted worker
        // offers itself again just then). Requests made during the probe are settled by this
        // plan: a full ring does not re-form for nothing. (A silent reserve was asked; it asks
        // for a seat itself when its late answer comes.)
        reformRequested = ring.size() < policy.maxWorkers() && members.ready().stream()
                .anyMatch(m -> !asked.contains(m) && !ring.contains(m) && !m.leaving());
        suspects.clear();
        // A fresh secret per ring: only its members can connect to each other's ring ports.
        String token = RingAdmission.issue(generation).token();
        for (int rank = 0; rank < ring.size(); rank++) {
            InetSocketAddress source = plan.syncFrom().get(ring.get(rank).ref);
            ring.get(rank).tell(source == null
                    ? new FormRing(jobId, generation, rank, ring.size(), "", 0, 0, token, stateToken)
                    : new FormRing(jobId, generation, rank, ring.size(), source.getHostString(), source.getPort(),
                            plan.step(), token, stateToken));
        }
        return new Form(plan, changes);
    }

    /**
     * A ring member bound its ring server. Once every rank has, each is told to link to its
     * successor and this returns true.
     */
    boolean bound(Member m, JobReady ready) {
        bound.put(m, ready);
        if (!ring.stream().allMatch(bound::containsKey)) {
            return false;
        }
        for (int rank = 0; rank < ring.size(); rank++) {
            JobReady successor = bound.get(ring.get((rank + 1) % ring.size()));
            ring.get(rank).tell(new ConnectRing(jobId, successor.dataHost(), successor.dataPort(), generation));
        }
        return true;
    }

    /** Rank {@code rank} linked to its successor; true when every rank has (the ring is formed). */
    boolean linked(int rank) {
        if (rank >= 0 && rank < ring.size()) {
            linked.add(rank);
        }
        if (linked.size() < ring.size()) {
            return false;
        }
        failedForms = 0;
        return true;
    }

    /** A form failed; true when it failed too often in a row and the job should give up. */
    boolean formFailedTooOften() {
        return ++failedForms > MAX_FAILED_FORMS;
    }
}
