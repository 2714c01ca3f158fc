package io.troupe.data.labelled;

/**
 * A train/validation partition of labelled data (one split, or one fold of K).
 *
 * @param train the examples to train on
 * @param val the held-out examples
 */
public record LabelledSplit(LabelledData train, LabelledData val) {
}
