package io.troupe.worker.checkpoint;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Everything a run needs to continue exactly where it stopped: the parameters, the AdamW
 * moments and step, the training step, the data sampler's generator state, any other generator
 * state, and the config and tokenizer the run was started with.
 *
 * <p>The arrays are not copied (a model's state is hundreds of megabytes): hand in arrays
 * nobody changes afterwards, such as {@code AdamW.exportState()}'s copies, and do not change the
 * ones a loaded checkpoint returns before using them. Equality compares contents, floats bit
 * for bit.
 *
 * @param config the run's config, typically JSON; opaque here except for the comparison
 *     {@link CheckpointStore} makes on load
 * @param parameters the flat parameter buffer
 * @param adamM AdamW's first moments, one per parameter
 * @param adamV AdamW's second moments, one per parameter
 * @param optimizerStep the number of AdamW updates applied
 * @param trainingStep the number of training steps completed; the next step to run
 * @param samplerState where training continues in the sample order: {@code {tag, next sample
 *     number}} (checkpoints of versions before local runs used the sample order hold a
 *     generator state here, which is ignored on load)
 * @param extraRngState other generator states by name (e.g. the validation sampler's)
 * @param tokenizer the tokenizer's JSON ({@code Tokenizer.toJson()})
 */
public record Checkpoint(
        String config,
        float[] parameters,
        float[] adamM,
        float[] adamV,
        long optimizerStep,
        long trainingStep,
        long[] samplerState,
        Map<String, long[]> extraRngState,
        String tokenizer) {

    /**
     * @throws IllegalArgumentException if the moments' lengths differ from the parameters', a
     *     step is negative, or an extra state has an empty name
     */
    public Checkpoint {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(adamM, "adamM");
        Objects.requireNonNull(adamV, "adamV");
        Objects.requireNonNull(samplerState, "samplerState");
        Objects.requireNonNull(extraRngState, "extraRngState");
        Objects.requireNonNull(tokenizer, "tokenizer");
        if (adamM.length != parameters.length || adamV.length != parameters.length) {
            throw new IllegalArgumentException("AdamW moments have " + adamM.length + " and "
                    + adamV.length + " elements but there are " + parameters.length
                    + " parameters; export the optimizer state of this model");
        }
        if (optimizerStep < 0 || trainingStep < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got optimizer step "
                    + optimizerStep + " and training step " + trainingStep);
        }
        // Sorted, so the file's bytes do not depend on the caller's map order.
        TreeMap<String, long[]> extra = new TreeMap<>();
        extraRngState.forEach((name, state) -> {
            if (name == null || name.isEmpty() || state == null) {
                throw new IllegalArgumentException(
                        "extra generator states need a non-empty name and a state, got " + name);
            }
            extra.put(name, state);
        });
        extraRngState = Collections.unmodifiableMap(extra);
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof Checkpoint that)) {
            return false;
        }
        if (!(config.equals(that.config)
                && Arrays.equals(parameters, that.parameters)
                && Arrays.equals(adamM, that.adamM)
                && Arrays.equals(adamV, that.adamV)
                && optimizerStep == that.optimizerStep
                && trainingStep == that.trainingStep
                && Arrays.equals(samplerState, that.samplerState)
                && tokenizer.equals(that.tokenizer)
                && extraRngState.keySet().equals(that.extraRngState.keySet()))) {
            return false;
        }
        for (Map.Entry<String, long[]> entry : extraRngState.entrySet()) {
            if (!Arrays.equals(entry.getValue(), that.extraRngState.get(entry.getKey()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(config, Arrays.hashCode(parameters), optimizerStep, trainingStep,
                Arrays.hashCode(samplerState), tokenizer, extraRngState.keySet());
    }

    @Override
    public String toString() {
        return "Checkpoint[trainingStep=" + trainingStep + ", optimizerStep=" + optimizerStep
                + ", parameters=" + parameters.length + ", extraRngState="
                + extraRngState.keySet() + "]";
    }
}
