package io.troupe.coordinator;

import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.job.protocol.WorkerHello;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.MemberStatus;

/**
 * The workers that offered themselves to one job, in the order they came: whether each is
 * still being prepared, ready, or gone (lost, released or refused), and whether it asked to
 * leave. It decides nothing about rings; it answers who is there.
 */
final class Membership {

    /** Where a worker stands with the job. A gone worker never comes back under the same ref. */
    enum Status { PREPARING, READY, GONE }

    /** A worker that offered itself to this job. */
    static final class Member {
        final String ref;
        final WorkerHello hello;
        /** The rank this worker was prepared with: the order it offered itself in. */
        final int seedRank;
        private final Address node;
        private final Consumer<JobMessage> outbox;
        private Status status = Status.PREPARING;
        private InetSocketAddress stateAddress;
        private boolean leaving;

        Member(String ref, Address node, Consumer<JobMessage> outbox, WorkerHello hello, int seedRank) {
            this.ref = ref;
            this.node = node;
            this.outbox = outbox;
            this.hello = hello;
            this.seedRank = seedRank;
        }

        void tell(JobMessage message) {
            outbox.accept(message);
        }

        Status status() {
            return status;
        }

        boolean ready() {
            return status == Status.READY;
        }

        boolean leaving() {
            return leaving;
        }

        /** A hot spare ({@code troupe worker --standby}): it takes a ring seat only when no regular worker can. */
        boolean standby() {
            return hello.standby();
        }

        /** Where it serves its training state to peers (known once it is prepared). */
        InetSocketAddress stateAddress() {
            return stateAddress;
        }

        @Override
        public String toString() {
            return ref;
        }
    }

    /**
     * True when an actor at {@code address} lives on this node or on an Up (or WeaklyUp) member
     * of the cluster. WeaklyUp counts: while a dead node is still unreachable the cluster cannot
     * move newcomers to Up, and a replacement worker must be able to join then.
     */
    static boolean onLiveNode(Address address, Iterable<org.apache.pekko.cluster.Member> cluster) {
        if (address.host().isEmpty()) {
            return true;
        }
        for (org.apache.pekko.cluster.Member m : cluster) {
            boolean up = m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp();
            if (up && m.address().equals(address)) {
                return true;
            }
        }
        return false;
    }

    private final Map<String, Member> members = new LinkedHashMap<>();
    private int offered;

    /**
     * Admits a worker that offered itself, or returns null when it is already a (live) member.
     * A worker that was let go may offer itself again: it is admitted afresh.
     */
    Member admit(String ref, Address node, Consumer<JobMessage> outbox, WorkerHello hello) {
        if (live(ref) != null) {
            return null;
        }
        Member m = new Member(ref, node, outbox, hello, offered++);
        members.put(ref, m);
        return m;
    }

    /** The live (not gone) member of that ref, or null. */
    Member live(String ref) {
        Member m = ref == null ? null : members.get(ref);
        return m == null || m.status == Status.GONE ? null : m;
    }

    /** The member finished preparing the job; it serves its state at {@code stateAddress}. */
    void prepared(Member m, InetSocketAddress stateAddress) {
        m.status = Status.READY;
        m.stateAddress = stateAddress;
    }

    /** The member could not prepare the job, was released, or left: it is gone. */
    void drop(Member m) {
        m.status = Status.GONE;
    }

    /** The member asked to leave at the next step boundary. */
    void markLeaving(Member m) {
        m.leaving = true;
    }

    /** Ready members that will stay: the ones a job may start or continue with. */
    long readyToStay() {
        return members.values().stream().filter(m -> m.status == Status.READY && !m.leaving).count();
    }

    /** True when somebody is still preparing or ready. */
    boolean anyLive() {
        return members.values().stream().anyMatch(m -> m.status != Status.GONE);
    }

    /** Ready members, in the order they offered themselves. */
    List<Member> ready() {
        return members.values().stream().filter(Member::ready).toList();
    }

    /** Live members (preparing or ready). */
    List<Member> live() {
        return members.values().stream().filter(m -> m.status != Status.GONE).toList();
    }

    /** Every live member on {@code node} is gone now; returns them. */
    List<Member> lose(Address node) {
        List<Member> gone = new ArrayList<>();
        for (Member m : members.values()) {
            if (m.status != Status.GONE && m.node.equals(node)) {
                m.status = Status.GONE;
                gone.add(m);
            }
        }
        return gone;
    }
}
