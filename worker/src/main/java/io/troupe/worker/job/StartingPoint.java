package io.troupe.worker.job;

import io.troupe.model.gpt.Trainable;

/**
 * Where a fine-tuning job starts: a source model's parameters and the part of them that trains.
 * The job's own parameter buffer (engines, optimizer, all-reduce, checkpoints) holds only the
 * trainable part; the frozen part is baked into its graphs.
 *
 * @param fullParameters every parameter of the model, laid out as {@code trainable.full()}
 * @param trainable what trains
 */
public record StartingPoint(float[] fullParameters, Trainable trainable) {
    public StartingPoint {
        if (fullParameters.length != trainable.full().size()) {
            throw new IllegalArgumentException("the starting parameters hold " + fullParameters.length
                    + " values but the model has " + trainable.full().size());
        }
    }

    /** The full parameters with the trained values of {@code trainableValues} merged in. */
    public float[] merged(float[] trainableValues) {
        return trainable.merge(fullParameters, trainableValues);
    }
}
