package io.troupe.worker.job;

import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Trainable;

/**
 * Where a fine-tuning job starts: a source model's parameters and the part of them that trains.
 * The job's own parameter buffer (engines, optimizer, all-reduce, checkpoints) holds only the
 * trainable part; the frozen part is baked into its graphs.
 *
 * @param fullParameters every parameter of the model, laid out as {@code trainable.full()}
 * @param trainable what trains
 * @param lora the LoRA adaptation whose A and B end {@code trainable.full()}, or null
 */
public record StartingPoint(float[] fullParameters, Trainable trainable, LoraConfig lora) {

    /** A starting point without LoRA. */
    public StartingPoint(float[] fullParameters, Trainable trainable) {
        this(fullParameters, trainable, null);
    }

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

    /**
     * The plain model to export: {@link #merged}, with LoRA's A B folded into the adapted
     * weights when there is an adapter.
     *
     * @param base the layout without adapters (a GPT's, or a classifier's)
     */
    public float[] exported(float[] trainableValues, ParameterLayout base, Backbone cfg) {
        float[] all = merged(trainableValues);
        return lora == null ? all : lora.merge(trainable.full(), all, base, cfg);
    }
}
