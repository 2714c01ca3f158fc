package io.troupe.tuner.space;

import java.util.List;
import java.util.Random;

/**
 * One dimension of a search space: the training key it sets and the values it may take.
 *
 * <p>Values are plain Java objects: {@link Double} for float and log ranges, {@link Long} for
 * integer ranges, and for categoricals whatever HOCON scalar was written (Long, Double, String,
 * Boolean), so that a value written to the store and read back compares equal.
 */
public sealed interface Parameter permits Parameter.FloatRange, Parameter.IntRange, Parameter.LogRange,
        Parameter.Categorical {

    /** The training key this parameter sets (e.g. {@code learning_rate}). */
    String key();

    /** A value drawn from the parameter's prior (uniform, log-uniform, or uniform over choices). */
    Object sample(Random random);

    /** The values a grid search visits, in order. */
    List<Object> gridValues();

    /** A value as a HOCON literal for {@code TrainSettings.load} overrides. */
    static String toHocon(Object value) {
        if (value instanceof String s) {
            return com.typesafe.config.ConfigUtil.quoteString(s);
        }
        return String.valueOf(value);
    }

    /**
     * Uniform over [min, max].
     *
     * @param gridPoints how many evenly spaced values (ends included) a grid search visits
     */
    record FloatRange(String key, double min, double max, int gridPoints) implements Parameter {
        @Override
        public Object sample(Random random) {
            return min + (max - min) * random.nextDouble();
        }

        @Override
        public List<Object> gridValues() {
            return evenly(min, max, gridPoints, false);
        }
    }

    /**
     * Log-uniform over [min, max], both > 0: each decade is equally likely (learning rates, weight decay).
     *
     * @param gridPoints how many values a grid search visits, evenly spaced in log space
     */
    record LogRange(String key, double min, double max, int gridPoints) implements Parameter {
        @Override
        public Object sample(Random random) {
            return Math.exp(Math.log(min) + (Math.log(max) - Math.log(min)) * random.nextDouble());
        }

        @Override
        public List<Object> gridValues() {
            return evenly(min, max, gridPoints, true);
        }
    }

    /** Integers min, min + step, ... up to max, each equally likely. */
    record IntRange(String key, long min, long max, long step) implements Parameter {
        /** How many values the range holds. */
        public long count() {
            return (max - min) / step + 1;
        }

        @Override
        public Object sample(Random random) {
            return min + step * (long) random.nextInt((int) Math.min(Integer.MAX_VALUE, count()));
        }

        @Override
        public List<Object> gridValues() {
            List<Object> out = new java.util.ArrayList<>();
            for (long v = min; v <= max; v += step) {
                out.add(v);
            }
            return out;
        }
    }

    /** One of a list of values, each equally likely. */
    record Categorical(String key, List<Object> values) implements Parameter {
        public Categorical {
            values = List.copyOf(values);
        }

        @Override
        public Object sample(Random random) {
            return values.get(random.nextInt(values.size()));
        }

        @Override
        public List<Object> gridValues() {
            return values;
        }
    }

    private static List<Object> evenly(double min, double max, int points, boolean log) {
        if (points == 1 || min == max) {
            return List.of(log ? Math.sqrt(min * max) : (min + max) / 2);
        }
        List<Object> out = new java.util.ArrayList<>();
        double lo = log ? Math.log(min) : min;
        double hi = log ? Math.log(max) : max;
        for (int i = 0; i < points; i++) {
            double x = lo + (hi - lo) * i / (points - 1);
            out.add(log ? Math.exp(x) : x);
        }
        return out;
    }
}
