package io.troupe.tuner.sampler;

import io.troupe.tuner.space.Parameter;
import io.troupe.tuner.space.SearchSpace;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Visits every combination of the parameters' grid values exactly once, in odometer order (the
 * last parameter changes fastest). Integer ranges contribute every value, categoricals every
 * choice, float and log ranges {@code grid} evenly spaced values.
 */
public final class GridSampler implements Sampler {
    private final List<Parameter> params;
    private final List<List<Object>> values;
    private final long size;

    /** A grid over the space's parameters. */
    public GridSampler(SearchSpace space) {
        this.params = space.params();
        this.values = params.stream().map(Parameter::gridValues).toList();
        long n = 1;
        for (List<Object> v : values) {
            n = Math.multiplyExact(n, v.size());
        }
        this.size = n;
    }

    @Override
    public Map<String, Object> sample(int number, List<Observation> finished) {
        if (number < 0 || number >= size) {
            throw new IllegalArgumentException("grid point " + number + " is outside the grid of " + size);
        }
        // Mixed-radix digits of the trial number, least significant = last parameter.
        Object[] chosen = new Object[params.size()];
        long rest = number;
        for (int i = params.size() - 1; i >= 0; i--) {
            int radix = values.get(i).size();
            chosen[i] = values.get(i).get((int) (rest % radix));
            rest /= radix;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            out.put(params.get(i).key(), chosen[i]);
        }
        return out;
    }

    @Override
    public OptionalLong size() {
        return OptionalLong.of(size);
    }

    @Override
    public String name() {
        return "grid";
    }
}
