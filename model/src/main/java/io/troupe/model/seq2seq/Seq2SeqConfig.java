package io.troupe.model.seq2seq;

import io.troupe.model.gpt.ParameterLayout;

/**
 * An encoder-decoder Transformer (the original Transformer's shape, pre-LayerNorm): one token
 * embedding shared by the source, the target and the output projection (one BPE on both sides),
 * learned positions per side, an encoder of bidirectional blocks and a decoder of causal
 * self-attention, cross-attention and MLP blocks. GELU is the tanh form, so graphs build in double.
 *
 * @param vocabSize V, shared by both sides
 * @param maxSource positions of the source side
 * @param maxTarget positions of the target side (BOS included)
 * @param encoderLayers encoder depth
 * @param decoderLayers decoder depth
 * @param nHead heads per attention
 * @param nEmbd C
 * @param nInner F, the MLP width
 * @param dropout training dropout
 * @param labelSmoothing epsilon: the target distribution is (1 - eps) one-hot + eps / V
 */
public record Seq2SeqConfig(int vocabSize, int maxSource, int maxTarget, int encoderLayers, int decoderLayers,
                            int nHead, int nEmbd, int nInner, double dropout, double labelSmoothing) {
    /** The LayerNorm epsilon of every block. */
    public static final double LAYER_NORM_EPS = 1e-5;
    /** The MLP's GELU form ("tanh": ORT has a double kernel for it, not for Erf). */
    public static final String GELU = "tanh";

    public Seq2SeqConfig {
        if (vocabSize < 2 || maxSource < 1 || maxTarget < 1 || encoderLayers < 1 || decoderLayers < 1 || nHead < 1
                || nEmbd < 1 || nInner < 1) {
            throw new IllegalArgumentException("seq2seq sizes must be positive (vocab >= 2)");
        }
        if (nEmbd % nHead != 0) {
            throw new IllegalArgumentException("n_embd " + nEmbd + " must be a multiple of n_head " + nHead);
        }
        if (dropout < 0 || dropout >= 1) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
        if (labelSmoothing < 0 || labelSmoothing >= 1) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + labelSmoothing);
        }
    }

    /** This config with another dropout (0 for evaluation and gradient checks). */
    public Seq2SeqConfig withDropout(double p) {
        return new Seq2SeqConfig(vocabSize, maxSource, maxTarget, encoderLayers, decoderLayers, nHead, nEmbd, nInner,
                p, labelSmoothing);
    }

    /** The flat parameter layout. */
    public ParameterLayout layout() {
        return Seq2SeqLayout.of(this);
    }
}
