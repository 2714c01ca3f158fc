package io.troupe.tuner.pruner;

import io.troupe.tuner.TuneException;
import io.troupe.tuner.space.SearchSpace;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import io.troupe.worker.train.TrainSettings;

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

    /**
     * A trial paused at a rung ({@link Decision#pause}) that may now go on, or empty. Asked by the
     * runner each time a slot is free, before it starts a new trial: this is ASHA's promotion.
     *
     * @param paused the trials now paused, each holding a checkpoint at its rung
     */
    default Optional<Integer> promotable(Map<Integer, NavigableMap<Long, Double>> history, Set<Integer> paused) {
        return Optional.empty();
    }

    /**
     * When nothing runs, nothing new may start and nothing is promotable, but no trial has
     * reached the end: the paused trial to finish anyway (the best one at the highest rung), so a
     * study always ends with a complete trial. Empty if none is paused.
     */
    default Optional<Integer> finishing(Map<Integer, NavigableMap<Long, Double>> history, Set<Integer> paused) {
        return Optional.empty();
    }

    /** The pruner's name as the CLI spells it. */
    String name();

    /**
     * Continue, prune, or pause with a one-line reason. A paused trial stops with a checkpoint
     * and is PRUNED in the store unless {@link #promotable} later lets it go on.
     */
    record Decision(boolean prune, boolean pause, String reason) {
        /** Go on training. */
        public static final Decision CONTINUE = new Decision(false, false, null);

        /** Stop this trial for good. */
        public static Decision prune(String reason) {
            return new Decision(true, false, reason);
        }

        /** Stop this trial at a rung, keeping its checkpoint: it may be promoted later. */
        public static Decision pause(String reason) {
            return new Decision(false, true, reason);
        }

        /** Whether the trial stops now (pruned or paused). */
        public boolean stops() {
            return prune || pause;
        }
    }

    /** The names {@link #create} accepts. */
    List<String> NAMES = List.of("none", "asha", "hyperband", "median", "pbt");

    /** The evaluation cadence of a space's trials: rungs sit on evaluation steps. */
    static long evalInterval(SearchSpace space, long maxSteps) {
        try {
            return TrainSettings.load(space.preset(), space.fixed(), maxSteps).evalInterval();
        } catch (RuntimeException e) {
            return 1; // an invalid preset is refused elsewhere; rungs then fall on any step
        }
    }

    /**
     * ASHA's default grace period (the first rung): {@code maxSteps / eta^2}, so that two rungs
     * fit below the end, but never before the learning-rate warm-up is over (a loss during the
     * ramp says more about the ramp than about the settings), rounded up to the evaluation cadence.
     */
    static long defaultGrace(SearchSpace space, long maxSteps, int eta) {
        long warmup;
        try {
            warmup = TrainSettings.load(space.preset(), space.fixed(), maxSteps).warmupIters();
        } catch (RuntimeException e) {
            warmup = 0;
        }
        long grace = Math.max(1, Math.max(warmup + 1, (long) Math.ceil(maxSteps / (double) ((long) eta * eta))));
        return AshaPruner.onCadence(grace, evalInterval(space, maxSteps));
    }

    /**
     * A pruner by name, with its options from the space file's {@code asha} or {@code median}
     * section; {@code maxSteps} is the study's --steps (ASHA's default max resource).
     */
    static Pruner create(String name, SearchSpace space, long maxSteps) {
        return switch (name) {
            case "none" -> new NoPruner();
            case "asha" -> {
                int eta = space.option("asha.reduction_factor", 3);
                yield new AshaPruner(eta, space.option("asha.min_resource", defaultGrace(space, maxSteps, eta)),
                        space.option("asha.max_resource", maxSteps), space.option("asha.max_rungs", 0),
                        evalInterval(space, maxSteps));
            }
            case "hyperband" -> {
                int eta = space.option("asha.reduction_factor", 3);
                yield new HyperbandPruner(eta, space.option("asha.min_resource", defaultGrace(space, maxSteps, eta)),
                        space.option("asha.max_resource", maxSteps), evalInterval(space, maxSteps));
            }
            // Population-based training is run by PbtRunner; it stops no trial.
            case "pbt" -> new NoPruner();
            case "median" -> new MedianPruner(space.option("median.warmup_steps", 0L),
                    space.option("median.startup_trials", 3));
            default -> throw new TuneException("unknown pruner '" + name + "'; choose one of " + NAMES);
        };
    }
}
