package io.troupe.model.seq2seq;

import io.troupe.model.gpt.TransformerBlocks;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The encoder-decoder forward pass over the shared {@link TransformerBlocks}. Shapes: B batch,
 * S source length, T target length, C width, V vocabulary. Pre-LayerNorm residual blocks.
 */
final class Seq2SeqForward {
    private final Graph graph;
    private final Seq2SeqConfig cfg;
    private final TransformerBlocks blocks;

    Seq2SeqForward(Graph graph, Seq2SeqConfig cfg, Map<String, Tensor> params, double dropout, long dropoutSeed) {
        this.graph = graph;
        this.cfg = cfg;
        this.blocks = new TransformerBlocks(graph, cfg.nEmbd(), cfg.nHead(), Seq2SeqConfig.LAYER_NORM_EPS,
                Seq2SeqConfig.GELU, params, dropout, dropoutSeed);
    }

    /**
     * The encoder output.
     *
     * @param src int64 [B, S], right-padded
     * @param sourceBias [B, 1, 1, S] from {@link #sourceBias}
     * @return [B, S, C]
     */
    Tensor encode(Tensor src, Tensor srcSteps, Tensor sourceBias) {
        Tensor x;
        try (Graph.Scope s = graph.scope("enc_embed")) {
            x = blocks.drop(blocks.p(Seq2SeqLayout.WTE).gather(src)                    // [B, S, C]
                    .add(blocks.p("enc.wpe").gather(srcSteps)));                        // [1, S, C]
        }
        for (int layer = 0; layer < cfg.encoderLayers(); layer++) {
            String h = "enc.h." + layer;
            try (Graph.Scope s = graph.scope(h)) {
                x = x.add(blocks.attention(blocks.layerNorm(x, h + ".ln_1"), h + ".attn", sourceBias)); // [B, S, C]
                x = x.add(blocks.mlp(blocks.layerNorm(x, h + ".ln_2"), h + ".mlp"));                 // [B, S, C]
            }
        }
        return blocks.layerNorm(x, "enc.ln_f");                                         // [B, S, C]
    }

    /**
     * The decoder's logits for every target position.
     *
     * @param tgtIn int64 [B, T]: BOS then the target, right-padded
     * @param memory [B, S, C] encoder output
     * @param sourceBias [B, 1, 1, S]
     * @param causal [T, T] additive causal bias
     * @return [B, T, V]
     */
    Tensor decode(Tensor tgtIn, Tensor tgtSteps, Tensor memory, Tensor sourceBias, Tensor causal) {
        Tensor x;
        try (Graph.Scope s = graph.scope("dec_embed")) {
            x = blocks.drop(blocks.p(Seq2SeqLayout.WTE).gather(tgtIn)                  // [B, T, C]
                    .add(blocks.p("dec.wpe").gather(tgtSteps)));                        // [1, T, C]
        }
        for (int layer = 0; layer < cfg.decoderLayers(); layer++) {
            String h = "dec.h." + layer;
            try (Graph.Scope s = graph.scope(h)) {
                x = x.add(blocks.attention(blocks.layerNorm(x, h + ".ln_1"), h + ".attn", causal));     // [B, T, C]
                x = x.add(blocks.crossAttention(blocks.layerNorm(x, h + ".ln_x"), memory, h + ".xattn",
                        sourceBias));                                                                  // [B, T, C]
                x = x.add(blocks.mlp(blocks.layerNorm(x, h + ".ln_2"), h + ".mlp"));                 // [B, T, C]
            }
        }
        x = blocks.layerNorm(x, "dec.ln_f");                                            // [B, T, C]
        // Tied output projection: the logits are scores against the shared token embedding.
        return x.matMul(blocks.p(Seq2SeqLayout.WTE).transpose(1, 0));                    // [B, T, V]
    }

    /** Per decoder layer, the cross-attention {keys [B, NH, HS, S], values [B, NH, S, HS]} of {@code memory}. */
    List<Tensor[]> crossKeysValues(Tensor memory) {
        List<Tensor[]> out = new ArrayList<>();
        for (int layer = 0; layer < cfg.decoderLayers(); layer++) {
            out.add(blocks.crossKeysValues(memory, "dec.h." + layer + ".xattn"));
        }
        return out;
    }

    /** [B, 1, 1, S]: 0 on real source tokens, -inf on padding. */
    static Tensor sourceBias(Tensor srcSteps, Tensor srcLengths, DType dtype) {
        return TransformerBlocks.paddingBias(srcSteps, srcLengths, dtype);
    }

    /** int64 [1, n] constant 0 .. n-1. */
    static Tensor steps(Graph graph, int n) {
        long[] steps = new long[n];
        for (int i = 0; i < n; i++) {
            steps[i] = i;
        }
        return graph.constant(TensorData.ofLongs(steps, 1, n));
    }

    /** The constant [T, T] causal bias: 0 on and below the diagonal, -inf above it. */
    static Tensor causalBias(Graph graph, int t, DType dtype) {
        return TransformerBlocks.causalBias(graph, t, dtype);
    }
}
