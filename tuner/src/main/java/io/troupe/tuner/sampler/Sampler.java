package io.troupe.tuner.sampler;

import io.troupe.tuner.TuneException;
import io.troupe.tuner.space.SearchSpace;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;

/**
 * Chooses the parameter values of the next trial.
 *
 * <p>Samplers are deterministic: the values of trial {@code n} depend only on the seed, {@code n}
 * and the observations passed in. (With parallel trials the observations a trial sees depend
 * on which trials have finished by then, so a parallel study is reproducible only up to that.)
 */
public interface Sampler {

    /** Values for trial {@code number}, by training key in the space's order. */
    Map<String, Object> sample(int number, List<Observation> finished);

    /** How many distinct configurations the sampler can produce (grid search), or empty if unbounded. */
    default OptionalLong size() {
        return OptionalLong.empty();
    }

    /** The sampler's name as the CLI spells it. */
    String name();

    /** The names {@link #create} accepts. */
    List<String> NAMES = List.of("grid", "random", "tpe");

    /** A sampler by name, with its options from the space file's {@code tpe} section. */
    static Sampler create(String name, SearchSpace space, long seed) {
        return switch (name) {
            case "grid" -> new GridSampler(space);
            case "random" -> new RandomSampler(space, seed);
            case "tpe" -> new TpeSampler(space, seed, space.option("tpe.startup_trials", TpeSampler.DEFAULT_STARTUP),
                    space.option("tpe.candidates", TpeSampler.DEFAULT_CANDIDATES),
                    space.option("tpe.gamma", TpeSampler.DEFAULT_GAMMA));
            default -> throw new TuneException("unknown sampler '" + name + "'; choose one of " + NAMES);
        };
    }

    /**
     * A generator for one trial: seeded from the study seed and the trial number through
     * SplitMix64's finalizer, so neighbouring trials get unrelated streams.
     */
    static Random trialRandom(long seed, int number) {
        long z = seed + 0x9E3779B97F4A7C15L * (number + 1L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return new Random(z ^ (z >>> 31));
    }
}
