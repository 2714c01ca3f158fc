package io.troupe.data.labelled;

/**
 * Precision, recall and F1 of one class, one-vs-rest.
 *
 * @param label the class's label
 * @param precision true positives / predicted as this class; 0 if it was never predicted
 * @param recall true positives / gold examples of this class; 0 if it has none
 * @param f1 the harmonic mean of precision and recall; 0 if both are 0
 * @param support how many gold examples have this class
 */
public record ClassMetrics(String label, double precision, double recall, double f1, int support) {
}
