package io.troupe.data.labelled;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.Locale;

/**
 * One metric over the folds of a cross-validation: its values, their mean and their sample
 * standard deviation (the sum of squares divided by {@code n - 1}, not {@code n} as numpy's
 * {@code std()} does by default: K folds are a sample of the splits one data set allows).
 *
 * @param metric the metric's name, e.g. "accuracy"
 * @param values one value per fold, in fold order
 */
public record FoldSummary(String metric, double[] values) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Copies the values; there must be at least one. */
    public FoldSummary {
        if (values.length == 0) {
            throw new IllegalArgumentException("a fold summary needs at least one value");
        }
        values = values.clone();
    }

    /** The values, a copy. */
    @Override
    public double[] values() {
        return values.clone();
    }

    /** The arithmetic mean. */
    public double mean() {
        return Arrays.stream(values).average().orElseThrow();
    }

    /** The sample standard deviation (n - 1 in the denominator); 0 for a single value. */
    public double std() {
        if (values.length < 2) {
            return 0;
        }
        double mean = mean();
        double squares = Arrays.stream(values).map(v -> (v - mean) * (v - mean)).sum();
        return Math.sqrt(squares / (values.length - 1));
    }

    /** <code>{"metric", "mean", "std", "values": [...]}</code>. */
    public ObjectNode toJson() {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("metric", metric);
        root.put("mean", mean());
        root.put("std", std());
        ArrayNode array = root.putArray("values");
        Arrays.stream(values).forEach(array::add);
        return root;
    }

    /** e.g. "accuracy 0.8230 ± 0.0121 over 10 folds". */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s %.4f ± %.4f over %d folds", metric, mean(), std(), values.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FoldSummary other && metric.equals(other.metric) && Arrays.equals(values, other.values);
    }

    @Override
    public int hashCode() {
        return 31 * metric.hashCode() + Arrays.hashCode(values);
    }
}
