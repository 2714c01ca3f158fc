package io.troupe.tuner.pruner;

import io.troupe.tuner.TuneException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;

/**
 * Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter
 * Tuning", MLSys 2020), in its stopping form: trials start at once and are stopped at rungs.
 *
 * <p>Rungs sit at {@code minResource * eta^k} steps, below {@code maxResource} (at most
 * {@code maxRungs} of them when that is > 0). When a trial's reports first reach a rung, its
 * value there is compared with the values every trial recorded at that rung so far (its own
 * included): it continues only if it is among the best {@code floor(n / eta)} of those {@code n}
 * values, else it is pruned. A trial's value at a rung is its report at the first evaluation
 * step at or after the rung.
 *
 * <p>While fewer than {@code eta} trials have reached a rung, {@code floor(n / eta)} is 0; the
 * trial then continues only if it is the best so far there. Synchronous halving would wait for
 * more trials instead, but an asynchronous pruner never waits, and continuing everything
 * would let the first {@code eta - 1} trials run to the end whatever their loss.
 */
public final class AshaPruner implements Pruner {
    private final int eta;
    private final List<Long> rungs;

    /**
     * @param eta the reduction factor (>= 2): one in eta trials continues past a rung
     * @param minResource the first rung, in steps
     * @param maxResource the training length; rungs lie below it
     * @param maxRungs at most this many rungs (0 = as many as fit)
     */
    public AshaPruner(int eta, long minResource, long maxResource, int maxRungs) {
        if (eta < 2 || minResource < 1 || maxResource <= minResource || maxRungs < 0) {
            throw new TuneException("asha options: reduction_factor must be >= 2, min_resource >= 1 and below "
                    + "max_resource, max_rungs >= 0; got " + eta + ", " + minResource + ", " + maxResource + ", " + maxRungs);
        }
        this.eta = eta;
        List<Long> r = new ArrayList<>();
        for (long at = minResource; at < maxResource && (maxRungs == 0 || r.size() < maxRungs);
                at = Math.multiplyExact(at, (long) eta)) {
            r.add(at);
        }
        this.rungs = List.copyOf(r);
    }

    @Override
    public List<Long> rungs() {
        return rungs;
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
            List<Double> recorded = new ArrayList<>();
            for (NavigableMap<Long, Double> values : history.values()) {
                Map.Entry<Long, Double> atRung = values.ceilingEntry(rung);
                if (atRung != null) {
                    recorded.add(atRung.getValue());
                }
            }
            Collections.sort(recorded);
            int keep = Math.max(1, recorded.size() / eta);
            double cutoff = recorded.get(keep - 1);
            if (!(value <= cutoff)) {
                return Decision.prune(String.format(java.util.Locale.ROOT,
                        "asha: val loss %.4f at rung %d (step %d) is not in the best %d of %d (cutoff %.4f)",
                        value, rung, step, keep, recorded.size(), cutoff));
            }
        }
        return Decision.CONTINUE;
    }

    @Override
    public String name() {
        return "asha";
    }
}
