package io.troupe.tuner.pruner;

import io.troupe.tuner.TuneException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;

/**
 * Asynchronous successive halving as in Li et al., "A System for Massively Parallel
 * Hyperparameter Tuning" (MLSys 2020), Algorithm 2, in its promotion form.
 *
 * <p>Rungs sit at {@code grace * eta^k} steps below {@code maxResource} (at most {@code maxRungs}
 * of them when that is > 0), each rounded up to the evaluation cadence so that a trial is judged
 * on a loss measured exactly there. When a trial reaches a rung it goes on only if it is among
 * the best {@code floor(n / eta)} of the {@code n} trials that reached the rung so far; otherwise
 * it is <em>paused</em> with its checkpoint, not stopped: when a slot frees up the runner asks
 * {@link #promotable} first, and a paused trial that has since entered its rung's top
 * {@code floor(n / eta)} (because more, worse trials arrived) is promoted and resumed. Only when
 * no promotion is possible does a new trial start, so the algorithm never waits for a rung to
 * fill (asynchronous) and never decides on fewer than {@code eta} trials. The paper keeps a
 * paused trial forever; a study is finite, so what is still paused at its end is PRUNED.
 *
 * <p>The first version of this class stopped a trial for good at its rung, and while fewer than
 * eta trials had reached a rung it kept only the best one so far (Optuna's rule); on the wave-1
 * benchmark that pruned the eventual winner at step 150 on a 0.013 margin.
 */
public final class AshaPruner implements Pruner {
    /** The reason a paused trial carries in the store; a resumed study finds its paused trials by it. */
    public static final String PAUSED = "asha: paused";

    private final int eta;
    private final List<Long> rungs;

    /**
     * @param eta the reduction factor (>= 2): one in eta trials goes on past a rung
     * @param minResource the grace period: the first rung, in steps
     * @param maxResource the training length; rungs lie below it
     * @param maxRungs at most this many rungs (0 = as many as fit)
     * @param evalInterval trials evaluate every this many steps; rungs are rounded up to it
     */
    public AshaPruner(int eta, long minResource, long maxResource, int maxRungs, long evalInterval) {
        if (eta < 2 || minResource < 1 || maxResource <= minResource || maxRungs < 0 || evalInterval < 1) {
            throw new TuneException("asha options: reduction_factor must be >= 2, min_resource >= 1 and below "
                    + "max_resource, max_rungs >= 0; got " + eta + ", " + minResource + ", " + maxResource + ", " + maxRungs);
        }
        this.eta = eta;
        List<Long> r = new ArrayList<>();
        for (long at = minResource; maxRungs == 0 || r.size() < maxRungs; at = Math.multiplyExact(at, (long) eta)) {
            long rung = onCadence(at, evalInterval);
            if (rung >= maxResource) {
                break;
            }
            if (r.isEmpty() || rung > r.get(r.size() - 1)) {
                r.add(rung);
            }
        }
        this.rungs = List.copyOf(r);
    }

    /** As above with an evaluation at every step. */
    public AshaPruner(int eta, long minResource, long maxResource, int maxRungs) {
        this(eta, minResource, maxResource, maxRungs, 1);
    }

    /** {@code step} rounded up to a multiple of {@code interval}. */
    static long onCadence(long step, long interval) {
        return (step + interval - 1) / interval * interval;
    }

    @Override
    public List<Long> rungs() {
        return rungs;
    }

    /** The reduction factor. */
    public int eta() {
        return eta;
    }

    @Override
    public Decision onReport(int trial, long step, double value, Map<Integer, NavigableMap<Long, Double>> history) {
        NavigableMap<Long, Double> own = history.get(trial);
        Long previous = own == null ? null : own.lowerKey(step);
        for (long rung : rungs) {
            boolean reachedNow = step >= rung && (previous == null || previous < rung);
            if (!reachedNow) {
                continue;
            }
            List<Double> recorded = valuesAt(rung, history);
            int keep = recorded.size() / eta;
            if (keep == 0 || !(value <= recorded.get(keep - 1))) {
                return Decision.pause(String.format(Locale.ROOT,
                        "%s at rung %d: val loss %.4f is not in the best floor(%d/%d) = %d of the trials there%s",
                        PAUSED, rung, value, recorded.size(), eta, keep,
                        keep == 0 ? "" : String.format(Locale.ROOT, " (cutoff %.4f)", recorded.get(keep - 1))));
            }
        }
        return Decision.CONTINUE;
    }

    /** Every trial's value at a rung (its first report at or after it), sorted best first. */
    private static List<Double> valuesAt(long rung, Map<Integer, NavigableMap<Long, Double>> history) {
        List<Double> recorded = new ArrayList<>();
        for (NavigableMap<Long, Double> values : history.values()) {
            Map.Entry<Long, Double> atRung = values.ceilingEntry(rung);
            if (atRung != null && Double.isFinite(atRung.getValue())) {
                recorded.add(atRung.getValue());
            }
        }
        recorded.sort(Comparator.naturalOrder());
        return recorded;
    }

    /** The highest rung at or below a paused trial's last report, or -1. */
    private int rungIndexOf(NavigableMap<Long, Double> values) {
        if (values == null || values.isEmpty()) {
            return -1;
        }
        long last = values.lastKey();
        int index = -1;
        for (int i = 0; i < rungs.size(); i++) {
            if (rungs.get(i) <= last) {
                index = i;
            }
        }
        return index;
    }

    /**
     * The paper's get_job: from the highest rung down, the best paused trial that is in its rung's
     * top {@code floor(n / eta)}.
     */
    @Override
    public Optional<Integer> promotable(Map<Integer, NavigableMap<Long, Double>> history, Set<Integer> paused) {
        for (int k = rungs.size() - 1; k >= 0; k--) {
            List<Double> recorded = valuesAt(rungs.get(k), history);
            int keep = recorded.size() / eta;
            if (keep == 0) {
                continue;
            }
            double cutoff = recorded.get(keep - 1);
            Optional<Integer> best = bestPausedAt(k, history, paused, cutoff);
            if (best.isPresent()) {
                return best;
            }
        }
        return Optional.empty();
    }

    @Override
    public Optional<Integer> finishing(Map<Integer, NavigableMap<Long, Double>> history, Set<Integer> paused) {
        for (int k = rungs.size() - 1; k >= 0; k--) {
            Optional<Integer> best = bestPausedAt(k, history, paused, Double.POSITIVE_INFINITY);
            if (best.isPresent()) {
                return best;
            }
        }
        return Optional.empty();
    }

    private Optional<Integer> bestPausedAt(int k, Map<Integer, NavigableMap<Long, Double>> history, Set<Integer> paused,
                                           double cutoff) {
        long rung = rungs.get(k);
        Integer best = null;
        double bestValue = Double.POSITIVE_INFINITY;
        for (int trial : paused) {
            NavigableMap<Long, Double> values = history.get(trial);
            if (rungIndexOf(values) != k) {
                continue;
            }
            Map.Entry<Long, Double> at = values.ceilingEntry(rung);
            if (at != null && at.getValue() <= cutoff && (best == null || at.getValue() < bestValue
                    || (at.getValue() == bestValue && trial < best))) {
                best = trial;
                bestValue = at.getValue();
            }
        }
        return Optional.ofNullable(best);
    }

    @Override
    public String name() {
        return "asha";
    }
}
