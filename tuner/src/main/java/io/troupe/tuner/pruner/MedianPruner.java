package io.troupe.tuner.pruner;

import io.troupe.tuner.TuneException;
import io.troupe.worker.stats.Median;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;

/**
 * The median stopping rule (Golovin et al., "Google Vizier", KDD 2017): prune a trial whose best
 * value so far is worse than the median of the other trials' best values up to the same step.
 *
 * <p>Nothing is pruned before {@code warmupSteps}, nor while fewer than {@code startupTrials}
 * other trials have reported at that step: early losses are noisy, and a median of one or two
 * trials says little.
 */
public final class MedianPruner implements Pruner {
    private final long warmupSteps;
    private final int startupTrials;

    /**
     * @param warmupSteps reports before this step never prune
     * @param startupTrials how many other trials must have reached the step
     */
    public MedianPruner(long warmupSteps, int startupTrials) {
        if (warmupSteps < 0 || startupTrials < 1) {
            throw new TuneException("median options: warmup_steps must be >= 0 and startup_trials >= 1, got "
                    + warmupSteps + ", " + startupTrials);
        }
        this.warmupSteps = warmupSteps;
        this.startupTrials = startupTrials;
    }

    @Override
    public Decision onReport(int trial, long step, double value, Map<Integer, NavigableMap<Long, Double>> history) {
        if (step < warmupSteps) {
            return Decision.CONTINUE;
        }
        List<Double> others = new ArrayList<>();
        for (Map.Entry<Integer, NavigableMap<Long, Double>> e : history.entrySet()) {
            // Others count if they ran at least this far and reported by this step.
            if (e.getKey() != trial && e.getValue().ceilingKey(step) != null && e.getValue().floorKey(step) != null) {
                others.add(best(e.getValue().headMap(step, true)));
            }
        }
        if (others.size() < startupTrials) {
            return Decision.CONTINUE;
        }
        int n = others.size();
        double median = Median.of(others);
        NavigableMap<Long, Double> own = history.get(trial);
        double ownBest = own == null ? value : Math.min(value, best(own.headMap(step, true)));
        if (ownBest > median) {
            return Decision.prune(String.format(java.util.Locale.ROOT,
                    "median: best val loss %.4f by step %d is worse than the median %.4f of %d other trials",
                    ownBest, step, median, n));
        }
        return Decision.CONTINUE;
    }

    private static double best(Map<Long, Double> values) {
        return values.values().stream().mapToDouble(Double::doubleValue).min().orElse(Double.POSITIVE_INFINITY);
    }

    @Override
    public String name() {
        return "median";
    }
}
