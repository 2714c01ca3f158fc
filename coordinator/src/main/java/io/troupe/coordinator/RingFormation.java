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
    private final Map<Member, ProbeReply> probes = new HashMap<>();
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
        for (Member m : members.ready()) {
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
    }

    /** True when every ready member answered this generation's probe. */
    boolean allProbed(Membership members) {
        return members.ready().stream().allMatch(probes::containsKey);
    }

    /** True when every ready member that has not answered is a suspect (and some has not). */
    boolean onlySuspectsSilent(Membership members) {
        boolean silentSuspect = false;
        for (Member m : members.ready()) {
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

    /** Ready members that did not answer this generation's probe. */
    List<Member> silent(Membership members) {
        return members.ready().stream().filter(m -> !probes.containsKey(m)).toList();
    }

    /**
     * Plans the next ring from the members that answered (the caller has let the silent and
     * the leaving ones go) and, unless it pauses or the state is lost, tells each its rank.
     *
     * @param committed the last step every ring member completed
     * @param fallbackStep the step of the checkpoint the coordinator serves at {@code fallback}, or -1
     */
    Next plan(Membership members, ElasticPolicy policy, long committed, long fallbackStep,
              InetSocketAddress fallback) {
        List<Member> previous = new ArrayList<>(lastFormed);
        List<Member> candidates = new ArrayList<>();
        for (Member m : previous) {
            if (m.ready()) {
                candidates.add(m);
            }
        }
        for (Member m : members.ready()) {
            if (!candidates.contains(m)) {
                candidates.add(m);
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
