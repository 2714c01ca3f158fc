package io.troupe.model.gpt;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Which parameters of a model train. A training graph declares only these as inputs and
 * returns only their gradients; every other (frozen) parameter is baked into the graph as an
 * initializer. The engine, the optimizer, the clipper, the all-reduce and checkpoints then work
 * on the trainable parameters' own flat buffer ({@link #layout()}), so a frozen or LoRA run
 * computes, stores and sends nothing for what does not train.
 */
public final class Trainable {
    private final ParameterLayout full;
    private final ParameterLayout trainable;

    private Trainable(ParameterLayout full, Predicate<String> trains) {
        this.full = full;
        ParameterLayout.Builder b = new ParameterLayout.Builder();
        for (ParameterLayout.View v : full.views()) {
            if (trains.test(v.name())) {
                b.add(v.name(), v.decay(), v.shape());
            }
        }
        this.trainable = b.build();
        if (trainable.views().isEmpty()) {
            throw new IllegalArgumentException("nothing would train: every parameter is frozen");
        }
    }

    /** Every parameter of {@code full} trains. */
    public static Trainable all(ParameterLayout full) {
        return new Trainable(full, name -> true);
    }

    /** The parameters whose names {@code trains} accepts. */
    public static Trainable of(ParameterLayout full, Predicate<String> trains) {
        return new Trainable(full, trains);
    }

    /** The whole model's layout. */
    public ParameterLayout full() {
        return full;
    }

    /** The trainable parameters, packed densely in the full layout's order: the engine's and optimizer's layout. */
    public ParameterLayout layout() {
        return trainable;
    }

    public boolean trains(String name) {
        return trainable.has(name);
    }

    /** True when nothing is frozen. */
    public boolean everything() {
        return trainable.size() == full.size();
    }

    /** Number of trainable floats. */
    public long count() {
        return trainable.size();
    }

    /** Trainable parameters as a percentage of all parameters. */
    public double percent() {
        return 100.0 * trainable.size() / full.size();
    }

    /** The trainable values out of a full parameter buffer. */
    public float[] extract(float[] fullValues) {
        float[] out = new float[Math.toIntExact(trainable.size())];
        for (ParameterLayout.View v : trainable.views()) {
            System.arraycopy(fullValues, Math.toIntExact(full.view(v.name()).offset()), out,
                    Math.toIntExact(v.offset()), Math.toIntExact(v.length()));
        }
        return out;
    }

    /** A copy of {@code fullValues} with the trainable parameters replaced by {@code trainableValues}. */
    public float[] merge(float[] fullValues, float[] trainableValues) {
        float[] out = fullValues.clone();
        for (ParameterLayout.View v : trainable.views()) {
            System.arraycopy(trainableValues, Math.toIntExact(v.offset()), out,
                    Math.toIntExact(full.view(v.name()).offset()), Math.toIntExact(v.length()));
        }
        return out;
    }

    /**
     * Declares the model's parameters in {@code graph}: trainable ones as inputs named like the
     * parameter, frozen ones as initializers holding their values.
     *
     * @param fullValues every parameter's value (only the frozen ones are read); may be null when
     *     {@link #everything()} trains
     * @return every parameter by name, in the full layout's order
     */
    public Map<String, Tensor> declare(Graph graph, DType dtype, float[] fullValues) {
        if (!everything() && (fullValues == null || fullValues.length != full.size())) {
            throw new IllegalArgumentException("frozen parameters need the model's " + full.size() + " values");
        }
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (ParameterLayout.View v : full.views()) {
            if (trains(v.name())) {
                params.put(v.name(), graph.input(v.name(), dtype, Shape.of(v.shape())));
            } else {
                params.put(v.name(), graph.initializer(v.name(), values(fullValues, v, dtype)));
            }
        }
        return params;
    }

    private static TensorData values(float[] flat, ParameterLayout.View v, DType dtype) {
        int from = Math.toIntExact(v.offset());
        int n = Math.toIntExact(v.length());
        if (dtype == DType.DOUBLE) {
            double[] d = new double[n];
            for (int i = 0; i < n; i++) {
                d[i] = flat[from + i];
            }
            return TensorData.ofDoubles(d, v.shape());
        }
        float[] f = new float[n];
        System.arraycopy(flat, from, f, 0, n);
        return TensorData.ofFloats(f, v.shape());
    }

    /** Names of the trainable parameters. */
    public Set<String> names() {
        return Set.copyOf(trainable.views().stream().map(ParameterLayout.View::name).toList());
    }
}
