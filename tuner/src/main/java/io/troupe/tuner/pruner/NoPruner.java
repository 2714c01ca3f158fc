package io.troupe.tuner.pruner;

import java.util.Map;
import java.util.NavigableMap;

/** Never prunes: every trial runs to the study's --steps. */
public final class NoPruner implements Pruner {
    @Override
    public Decision onReport(int trial, long step, double value, Map<Integer, NavigableMap<Long, Double>> history) {
        return Decision.CONTINUE;
    }

    @Override
    public String name() {
        return "none";
    }
}
