package io.troupe.coordinator;

import io.troupe.coordinator.Membership.Member;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The end of a job: which members of the final ring have closed it (rank 0 exports the model).
 * Members lost after the last step need not finish, except rank 0.
 */
final class JobFinish {
    private final List<Member> ring;
    private final Set<Integer> finished = new HashSet<>();

    /** @param ring the final ring, in rank order */
    JobFinish(List<Member> ring) {
        this.ring = List.copyOf(ring);
    }

    int ringSize() {
        return ring.size();
    }

    /** True when {@code rank} is of the final ring (a released reserve worker's report is not). */
    boolean ofRing(int rank) {
        return rank >= 0 && rank < ring.size();
    }

    /** Rank {@code rank} closed the job; true when every rank has. */
    boolean finished(int rank) {
        finished.add(rank);
        return done();
    }

    /**
     * Ring members were lost after the last step: they count as finished, except rank 0 while
     * it exports. Returns false when rank 0 was lost before it finished.
     */
    boolean lost(List<Member> gone) {
        for (Member m : gone) {
            int rank = ring.indexOf(m);
            if (rank == 0 && !finished.contains(0)) {
                return false;
            }
            if (rank > 0) {
                finished.add(rank);
            }
        }
        return true;
    }

    /** True when every rank of the final ring finished. */
    boolean done() {
        return finished.size() >= ring.size();
    }
}
