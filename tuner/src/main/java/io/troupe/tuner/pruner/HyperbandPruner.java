package io.troupe.tuner.pruner;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Asynchronous Hyperband (Li et al., MLSys 2020, section 3.2): several brackets of
 * {@link AshaPruner}, each with a later grace period, so that the study hedges against an
 * early rung that misjudges slow starters. Bracket {@code s} has its first rung at
 * {@code grace * eta^s}; the last bracket has no rung at all (its trials always train to the
 * end). Trial {@code n} belongs to bracket {@code n mod brackets}, and each bracket compares and
 * promotes only its own trials.
 */
public final class HyperbandPruner implements Pruner {
    private final List<AshaPruner> brackets = new ArrayList<>();

    /**
     * @param eta the reduction factor of every bracket
     * @param grace the first rung of bracket 0
     * @param maxResource the training length
     * @param evalInterval rungs are rounded up to the evaluation cadence
     */
    public HyperbandPruner(int eta, long grace, long maxResource, long evalInterval) {
        AshaPruner first = new AshaPruner(eta, grace, maxResource, 0, evalInterval);
        int rungs = first.rungs().size();
        for (int s = 0; s < rungs; s++) {
            brackets.add(new AshaPruner(eta, first.rungs().get(s), maxResource, 0, evalInterval));
        }
        brackets.add(null); // the bracket without rungs: full training
    }

    /** How many brackets there are (the last one trains every trial to the end). */
    public int brackets() {
        return brackets.size();
    }

    /** The bracket of a trial. */
    public int bracketOf(int trial) {
        return Math.floorMod(trial, brackets.size());
    }

    private Map<Integer, NavigableMap<Long, Double>> members(int bracket, Map<Integer, NavigableMap<Long, Double>> history) {
        Map<Integer, NavigableMap<Long, Double>> out = new HashMap<>();
        history.forEach((trial, values) -> {
            if (bracketOf(trial) == bracket) {
                out.put(trial, values);
            }
        });
        return out;
    }

    private Set<Integer> members(int bracket, Set<Integer> paused) {
        Set<Integer> out = new LinkedHashSet<>();
        paused.stream().filter(t -> bracketOf(t) == bracket).forEach(out::add);
        return out;
    }

    @Override
    public Decision onReport(int trial, long step, double value, Map<Integer, NavigableMap<Long, Double>> history) {
        int b = bracketOf(trial);
        AshaPruner asha = brackets.get(b);
        return asha == null ? Decision.CONTINUE : asha.onReport(trial, step, value, members(b, history));
    }

    @Override
    public Optional<Integer> promotable(Map<Integer, NavigableMap<Long, Double>> history, Set<Integer> paused) {
        for (int b = 0; b < brackets.size(); b++) {
            AshaPruner asha = brackets.get(b);
            if (asha != null) {
                Optional<Integer> t = asha.promotable(members(b, history), members(b, paused));
                if (t.isPresent()) {
                    return t;
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public Optional<Integer> finishing(Map<Integer, NavigableMap<Long, Double>> history, Set<Integer> paused) {
        for (int b = 0; b < brackets.size(); b++) {
            AshaPruner asha = brackets.get(b);
            if (asha != null) {
                Optional<Integer> t = asha.finishing(members(b, history), members(b, paused));
                if (t.isPresent()) {
                    return t;
                }
            }
        }
        return Optional.empty();
    }

    /** Every bracket's rungs, for the plots. */
    @Override
    public List<Long> rungs() {
        Set<Long> all = new TreeSet<>();
        brackets.stream().filter(a -> a != null).forEach(a -> all.addAll(a.rungs()));
        return List.copyOf(all);
    }

    @Override
    public String name() {
        return "hyperband";
    }
}
