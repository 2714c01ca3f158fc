package io.troupe.tuner.sampler;

import io.troupe.tuner.space.Parameter;
import io.troupe.tuner.space.SearchSpace;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Draws every parameter independently from its prior; ignores what earlier trials found. */
public final class RandomSampler implements Sampler {
    private final List<Parameter> params;
    private final long seed;

    /** A random search over the space, reproducible from {@code seed}. */
    public RandomSampler(SearchSpace space, long seed) {
        this.params = space.params();
        this.seed = seed;
    }

    @Override
    public Map<String, Object> sample(int number, List<Observation> finished) {
        return draw(params, Sampler.trialRandom(seed, number));
    }

    static Map<String, Object> draw(List<Parameter> params, Random random) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Parameter p : params) {
            out.put(p.key(), p.sample(random));
        }
        return out;
    }

    @Override
    public String name() {
        return "random";
    }
}
