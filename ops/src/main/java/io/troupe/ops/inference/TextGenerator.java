package io.troupe.ops.inference;

import ai.onnxruntime.OrtException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Autoregressive sampling from an {@link ExportedModel}: feed the (cropped) context, sample
 * the next token from the last position's logits, append, repeat.
 */
public final class TextGenerator {
    private final ExportedModel model;

    public TextGenerator(ExportedModel model) {
        this.model = model;
    }

    /**
     * Generates {@code tokens} tokens after {@code prompt}.
     *
     * @param onToken called with each new token id as it is sampled (for streaming output)
     * @return the prompt followed by the generated text
     */
    public String generate(String prompt, int tokens, TokenSampler sampler, IntConsumer onToken) throws OrtException {
        int[] encoded = model.tokenizer().encode(prompt);
        List<Integer> context = new ArrayList<>();
        for (int id : encoded) {
            context.add(id);
        }
        if (context.isEmpty()) {
            throw new IllegalArgumentException("the prompt is empty; pass at least one character with --prompt");
        }
        int vocab = model.vocabSize();
        for (int n = 0; n < tokens; n++) {
            int len = Math.min(context.size(), model.blockSize());
            long[] ids = new long[len];
            for (int i = 0; i < len; i++) {
                ids[i] = context.get(context.size() - len + i);
            }
            float[] logits = model.logits(ids, 1, len);
            int next = sampler.sample(logits, (len - 1) * vocab, vocab);
            context.add(next);
            onToken.accept(next);
        }
        return model.tokenizer().decode(context.stream().mapToInt(Integer::intValue).toArray());
    }
}
