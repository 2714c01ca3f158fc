package io.troupe.ops.serve.monitor;

import io.troupe.data.labelled.ClassificationMetrics;
import io.troupe.data.labelled.LabelSet;

/**
 * A classifier's accuracy and macro precision, recall and F1 over the last {@code capacity}
 * labelled feedback records about its own predictions. Thread-safe.
 */
final class LiveAccuracy {
    private final LabelSet labels;
    private final int[] gold;
    private final int[] predicted;
    private int count;

    LiveAccuracy(LabelSet labels, int capacity) {
        this.labels = labels;
        this.gold = new int[capacity];
        this.predicted = new int[capacity];
    }

    LabelSet labels() {
        return labels;
    }

    /** Adds one record; false (and nothing added) when either label is not one of the model's. */
    synchronized boolean add(String goldLabel, String predictedLabel) {
        var g = labels.indexOf(goldLabel);
        var p = labels.indexOf(predictedLabel);
        if (g.isEmpty() || p.isEmpty()) {
            return false;
        }
        int slot = count++ % gold.length;
        gold[slot] = g.get();
        predicted[slot] = p.get();
        return true;
    }

    /** Records counted now (at most the capacity). */
    synchronized int size() {
        return Math.min(count, gold.length);
    }

    /** The metrics over the records held, or null when there are none. */
    synchronized ClassificationMetrics metrics() {
        int n = size();
        if (n == 0) {
            return null;
        }
        return ClassificationMetrics.of(labels, java.util.Arrays.copyOf(gold, n), java.util.Arrays.copyOf(predicted, n));
    }
}
