package io.troupe.ops.inference;

import ai.onnxruntime.OrtException;

/**
 * Mean next-token cross-entropy of a model on a token sequence, over consecutive windows of
 * block_size + 1 tokens (each window predicts its last block_size tokens), and its perplexity.
 */
public final class Perplexity {
    /** Loss in nats per token, its perplexity, and how many tokens were scored. */
    public record Result(double loss, double perplexity, long tokens) {
    }

    private Perplexity() {
    }

    public static Result of(ExportedModel model, int[] tokens, int batch) throws OrtException {
        int t = model.blockSize();
        int vocab = model.vocabSize();
        if (tokens.length < 2) {
            throw new IllegalArgumentException("the text must hold at least 2 tokens to score, got " + tokens.length);
        }
        double total = 0;
        long count = 0;
        int start = 0;
        while (start < tokens.length - 1) {
            int len = Math.min(t, tokens.length - 1 - start);
            // Full windows go in batches; the tail window runs alone with its own length.
            int rows = len == t ? Math.max(1, Math.min(batch, (tokens.length - 1 - start) / t)) : 1;
            long[] ids = new long[rows * len];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < len; i++) {
                    ids[r * len + i] = tokens[start + r * len + i];
                }
            }
            float[] logits = model.logits(ids, rows, len);
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < len; i++) {
                    int target = tokens[start + r * len + i + 1];
                    total += crossEntropy(logits, ((r * len) + i) * vocab, vocab, target);
                    count++;
                }
            }
            start += rows * len;
        }
        double loss = total / count;
        return new Result(loss, Math.exp(loss), count);
    }

    private static double crossEntropy(float[] logits, int offset, int vocab, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        return Math.log(sum) + max - logits[offset + target];
    }
}
