package io.troupe.model.gpt;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Dim;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.Map;

/**
 * The shape of a GPT: vocabulary V, context length T (block size), L layers, NH heads,
 * C embedding width, dropout probability, whether LayerNorms and Linears carry biases, and
 * whether the output projection shares the token embedding (GPT-2 and nanoGPT tie them).
 */
public record GptConfig(int vocabSize, int blockSize, int nLayer, int nHead, int nEmbd, double dropout,
                        boolean bias, boolean tiedEmbeddings) implements Backbone {

    public GptConfig {
        requirePositive("vocab_size", vocabSize);
        requirePositive("block_size", blockSize);
        requirePositive("n_layer", nLayer);
        requirePositive("n_head", nHead);
        requirePositive("n_embd", nEmbd);
        if (nEmbd % nHead != 0) {
            throw new IllegalArgumentException("n_embd (" + nEmbd + ") must be divisible by n_head (" + nHead + ")");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
    }

    private static void requirePositive(String key, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be positive, got " + value);
        }
    }

    /** Head size C / NH. */
    public int headSize() {
        return nEmbd / nHead;
    }

    /** This config with another vocabulary size (set from the tokenizer). */
    public GptConfig withVocabSize(int v) {
        return new GptConfig(v, blockSize, nLayer, nHead, nEmbd, dropout, bias, tiedEmbeddings);
    }

    /** This config with another dropout. */
    @Override
    public GptConfig withDropout(double p) {
        return new GptConfig(vocabSize, blockSize, nLayer, nHead, nEmbd, p, bias, tiedEmbeddings);
    }

    /** The GPT-2 parameter set ({@link ParameterLayout#of}). */
    @Override
    public ParameterLayout layout() {
        return ParameterLayout.of(this);
    }

    /**
     * The GPT body under its causal mask. Right padding needs no mask of its own: a real
     * position only attends to positions at or before it, all of them real. T must be static.
     */
    @Override
    public Tensor hidden(Graph graph, Map<String, Tensor> params, Tensor idx, Tensor stepIds, Tensor lengths,
                         DType dtype, double dropout, long dropoutSeed, LinearAdapter adapter) {
        Dim t = idx.shape().dim(1);
        if (!t.isStatic()) {
            throw new IllegalArgumentException("the GPT body needs a static sequence length here");
        }
        int seqLen = Math.toIntExact(t.size());
        Tensor wpe = params.get("wpe");
        Tensor positions = seqLen == blockSize ? wpe
                : wpe.slice(new long[] {0}, new long[] {seqLen}, new long[] {0});     // [T, C]
        return new GptForward(graph, this, params, dropout, dropoutSeed).withAdapter(adapter)
                .hidden(idx, positions, GptForward.causalMask(graph, seqLen, dtype)); // [B, T, C]
    }

    /**
     * Floating-point operations of one training step (forward + backward = 3x forward) on B
     * sequences of length T, counting multiply-adds as 2 and only matrix products, as the
     * usual 6N + attention estimate does (PaLM appendix B; nanoGPT's estimate_mfu).
     */
    public double trainingFlopsPerStep(int batch, int seqLen) {
        double c = nEmbd;
        double perTokenWeights = nLayer * 12.0 * c * c + (double) vocabSize * c;
        double attention = nLayer * 2.0 * seqLen * c; // QK^T and att@V: 2 * T * C multiply-adds per token per layer
        double forwardPerToken = 2 * perTokenWeights + 2 * attention;
        return 3 * forwardPerToken * batch * seqLen;
    }
}
