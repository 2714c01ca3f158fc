package io.troupe.coordinator;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides the next ring after a probe: who is in it, in which order, which training state
 * it continues from and who must first fetch that state from whom.
 *
 * <p>The rule that keeps "at most one step lost": the ring continues from the most advanced
 * state any surviving worker holds. A worker that completed the interrupted step (its
 * all-reduce finished before a peer died) has parameters that include every worker's gradient
 * of that step, so that step counts as done; the others catch up from it. Among workers at that
 * step, those whose parameter checksum differs from the majority's resync as well.
 */
final class RingPlanner {
    private RingPlanner() {
    }

    /** A worker that answered the probe. {@code state} is where it serves its state. */
    record Candidate(String worker, long step, long checksum, InetSocketAddress state) {
    }

    /** The next ring: members in rank order, the step it continues from, and who syncs from where. */
    record Plan(List<String> ring, long step, Map<String, InetSocketAddress> syncFrom) {
    }

    /**
     * @param candidates workers that answered, previous ring members first (their order is kept)
     * @param maxWorkers the ring takes at most this many; the rest stay in reserve
     * @param fallback where the state of {@code fallbackStep} is served when no candidate holds
     *     a state at least that recent (a resumed coordinator serving a checkpoint), or null
     */
    static Plan plan(List<Candidate> candidates, int maxWorkers, long fallbackStep, InetSocketAddress fallback) {
        List<Candidate> chosen = new ArrayList<>(candidates.subList(0, Math.min(maxWorkers, candidates.size())));
        long best = -1;
        for (Candidate c : chosen) {
            best = Math.max(best, c.step());
        }
        Map<String, InetSocketAddress> sync = new HashMap<>();
        List<String> ring = new ArrayList<>();
        chosen.forEach(c -> ring.add(c.worker()));
        if (best < fallbackStep && fallback != null) {
            for (Candidate c : chosen) {
                sync.put(c.worker(), fallback);
            }
            return new Plan(ring, fallbackStep, sync);
        }
        long checksum = majorityChecksum(chosen, best);
        Candidate source = null;
        for (Candidate c : chosen) {
            if (c.step() == best && c.checksum() == checksum) {
                source = c;
                break;
            }
        }
        for (Candidate c : chosen) {
            if (c != source && (c.step() != best || c.checksum() != checksum)) {
                sync.put(c.worker(), source.state());
            }
        }
        return new Plan(ring, best, sync);
    }

    /** The checksum most workers at {@code step} hold (ties: the earliest candidate's). */
    private static long majorityChecksum(List<Candidate> chosen, long step) {
        Map<Long, Integer> votes = new HashMap<>();
        long winner = 0;
        int most = 0;
        for (Candidate c : chosen) {
            if (c.step() == step) {
                int n = votes.merge(c.checksum(), 1, Integer::sum);
                if (n > most) {
                    most = n;
                    winner = c.checksum();
                }
            }
        }
        return winner;
    }
}
