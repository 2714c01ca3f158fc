package io.troupe.model.hf;

import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterLayout;
import java.nio.file.Path;
import java.util.List;

/**
 * A GPT imported from another format: Troupe's config and the flat parameters laid out as
 * {@link ParameterLayout#of} it, ready for a trainer's parameter buffer, a checkpoint or
 * {@code GptGraphs.inference}.
 *
 * @param config the model's shape
 * @param parameters every parameter, at its view's offset in {@link #layout()}
 * @param weightsFile the file the weights came from
 * @param ignoredTensors tensors in the file that carry no parameter (GPT-2's causal-mask
 *     buffers {@code attn.bias}/{@code attn.masked_bias}, an {@code lm_head.weight} tied to wte)
 */
public record ImportedGpt(GptConfig config, float[] parameters, Path weightsFile, List<String> ignoredTensors) {

    /** Checks the parameter count against the layout. */
    public ImportedGpt {
        ignoredTensors = List.copyOf(ignoredTensors);
        long expected = ParameterLayout.of(config).size();
        if (parameters.length != expected) {
            throw new IllegalArgumentException("config needs " + expected + " parameters, got " + parameters.length);
        }
    }

    /** The layout of {@link #parameters()}. */
    public ParameterLayout layout() {
        return ParameterLayout.of(config);
    }
}
