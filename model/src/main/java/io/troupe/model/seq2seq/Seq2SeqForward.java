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

    /** A cached decoder step's logits and, per layer, {keys, values} [B, NH, P + 1, HS]. */
    record Step(Tensor logits, List<Tensor[]> present) {
    }

    /**
     * One new target token per row, attending to the earlier tokens' cached keys and values
     * (so it needs no causal mask) and to the cached cross-attention keys and values; the same
     * blocks and parameters as {@link #decode}.
     *
     * @param tgtIn int64 [B, 1]
     * @param position int64 [1, 1]: P, the number of earlier tokens
     * @param past per layer {keys, values} [B, NH, P, HS]
     * @param cross per layer {keys [B, NH, HS, S], values [B, NH, S, HS]}
     * @param sourceBias [B, 1, 1, S]
     * @param presentNames per layer {key name, value name} of the concatenated caches (graph outputs)
     */
    Step decodeStep(Tensor tgtIn, Tensor position, List<Tensor[]> past, List<Tensor[]> cross, Tensor sourceBias,
                    List<String[]> presentNames) {
        int c = cfg.nEmbd();
        int nh = cfg.nHead();
        int hs = c / nh;
        Tensor x;
        try (Graph.Scope s = graph.scope("dec_embed")) {
            x = blocks.p(Seq2SeqLayout.WTE).gather(tgtIn)                             // [B, 1, C]
                    .add(blocks.p("dec.wpe").gather(position));                        // [1, 1, C]
        }
        List<Tensor[]> present = new ArrayList<>();
        for (int layer = 0; layer < cfg.decoderLayers(); layer++) {
            String h = "dec.h." + layer;
            try (Graph.Scope s = graph.scope(h)) {
                Tensor qkv = blocks.linear(blocks.layerNorm(x, h + ".ln_1"), h + ".attn.c_attn"); // [B, 1, 3C]
                List<Tensor> parts = qkv.split(2, c, c, c);                                    // 3 x [B, 1, C]
                Tensor q = parts.get(0).mul(1.0 / Math.sqrt(hs))
                        .reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);                          // [B, NH, 1, HS]
                Tensor k = parts.get(1).reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);           // [B, NH, 1, HS]
                Tensor v = parts.get(2).reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);           // [B, NH, 1, HS]
                // Named as the graph outputs they are, so no Identity copies the cache once more.
                Tensor keys = graph.applyNamed("Concat", List.of(past.get(layer)[0], k), Map.of("axis", 2L),
                        presentNames.get(layer)[0]);                                           // [B, NH, P+1, HS]
                Tensor values = graph.applyNamed("Concat", List.of(past.get(layer)[1], v), Map.of("axis", 2L),
                        presentNames.get(layer)[1]);                                           // [B, NH, P+1, HS]
                present.add(new Tensor[] {keys, values});
                Tensor y = q.matMul(keys.transpose(0, 1, 3, 2)).softmax(-1).matMul(values)    // [B, NH, 1, HS]
                        .transpose(0, 2, 1, 3).reshape(0, 0, c);                               // [B, 1, C]
                x = x.add(blocks.linear(y, h + ".attn.c_proj"));                               // [B, 1, C]
                x = x.add(blocks.crossAttention(blocks.layerNorm(x, h + ".ln_x"), cross.get(layer)[0],
                        cross.get(layer)[1], h + ".xattn", sourceBias));                       // [B, 1, C]
                x = x.add(blocks.mlp(blocks.layerNorm(x, h + ".ln_2"), h + ".mlp"));          // [B, 1, C]
            }
        }
        x = blocks.layerNorm(x, "dec.ln_f");                                                   // [B, 1, C]
        return new Step(x.matMul(blocks.p(Seq2SeqLayout.WTE).transpose(1, 0)), present);      // [B, 1, V]
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
