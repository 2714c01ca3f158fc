package io.troupe.ops.serve.monitor;

import ai.onnxruntime.OrtException;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.ops.inference.Perplexity;
import java.util.Arrays;

/**
 * A language model's loss on one prompt, the same way for the reference's val lines and for
 * served prompts: the prompt's known tokens, cut to one context window (block_size + 1 tokens),
 * one forward pass. The cut bounds the work a long prompt costs the monitor.
 */
final class PromptLoss {
    private final ExportedModel model;

    PromptLoss(ExportedModel model) {
        this.model = model;
    }

    /** The mean loss over the prompt's predicted tokens, or null when it has fewer than 2 tokens. */
    Perplexity.Result score(int[] ids) throws OrtException {
        if (ids.length < 2) {
            return null;
        }
        int[] window = ids.length > model.blockSize() + 1 ? Arrays.copyOf(ids, model.blockSize() + 1) : ids;
        return Perplexity.of(model, window, 1);
    }
}
