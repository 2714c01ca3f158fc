package io.troupe.tuner.pruner;

import io.troupe.tuner.TuneException;
import io.troupe.tuner.space.SearchSpace;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;

/**
 * Decides, each time a trial reports a validation loss, whether it goes on or is pruned.
 *
 * <p>Pruners keep no state of their own: every decision is a function of the reported
 * values of all trials (the study store's intermediate values). A resumed study therefore
 * decides exactly as the crashed one would have, without replaying anything.
 */
public interface Pruner {

    /**
     * The decision after trial {@code trial} reported {@code value} at {@code step}.
     *
     * @param history every trial's reported values by step, this report included
     */
    Decision onReport(int trial, long step, double value, Map<Integer, NavigableMap<Long, Double>> history);

    /** Steps the plots mark (ASHA's rungs); empty if none. */
    default List<Long> rungs() {
        return List.of();
    }

    /** The pruner's name as the CLI spells it. */
    String name();

    /** Continue, or prune with a one-line reason. */
    record Decision(boolean prune, String reason) {
        /** Go on training. */
        public static final Decision CONTINUE = new Decision(false, null);

        /** Stop this trial. */
        public static Decision prune(String reason) {
            return new Decision(true, reason);
        }
    }

    /** The names {@link #create} accepts. */
    List<String> NAMES = List.of("none", "asha", "median");

    /**
     * A pruner by name, with its options from the space file's {@code asha} or {@code median}
     * section; {@code maxSteps} is the study's --steps (ASHA's default max resource).
     */
    static Pruner create(String name, SearchSpace space, long maxSteps) {
        return switch (name) {
            case "none" -> new NoPruner();
            case "asha" -> new AshaPruner(space.option("asha.reduction_factor", 3),
                    space.option("asha.min_resource", Math.max(1, maxSteps / 9)),
                    space.option("asha.max_resource", maxSteps), space.option("asha.max_rungs", 0));
            case "median" -> new MedianPruner(space.option("median.warmup_steps", 0L),
                    space.option("median.startup_trials", 3));
            default -> throw new TuneException("unknown pruner '" + name + "'; choose one of " + NAMES);
        };
    }
}
