package io.troupe.model.bert;

import io.troupe.model.gpt.LinearAdapter;
import io.troupe.model.gpt.TransformerBlocks;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.util.Map;

/**
 * The encoder's forward pass, emitted into a graph with the GPT's {@link TransformerBlocks}:
 * summed token, position and token-type embeddings under a LayerNorm, L blocks of bidirectional
 * self-attention (padded keys masked out) and MLP, and the optional MLM head. Shapes: B batch,
 * T sequence, C width, V vocabulary.
 */
final class EncoderForward {
    private final Graph graph;
    private final EncoderConfig cfg;
    private final TransformerBlocks blocks;

    EncoderForward(Graph graph, EncoderConfig cfg, Map<String, Tensor> params, double dropout, long dropoutSeed) {
        this.graph = graph;
        this.cfg = cfg;
        this.blocks = new TransformerBlocks(graph, cfg.nEmbd(), cfg.nHead(), cfg.layerNormEps(), cfg.gelu(), params,
                dropout, dropoutSeed);
    }

    EncoderForward withAdapter(LinearAdapter adapter) {
        blocks.withAdapter(adapter);
        return this;
    }

    /**
     * The final hidden states.
     *
     * @param idx int64 [B, T]
     * @param stepIds int64 [1, T]: 0 .. T-1, the position ids
     * @param lengths int64 [B] real tokens per right-padded row, or null when nothing is padded
     * @return [B, T, C]
     */
    Tensor hidden(Tensor idx, Tensor stepIds, Tensor lengths, DType dtype) {
        Tensor tok;
        try (Graph.Scope s = graph.scope("embed")) {
            tok = blocks.p(EncoderLayout.WTE).gather(idx);                          // [B, T, C]
        }
        return hiddenFromEmbeddings(tok, stepIds, lengths, dtype);
    }

    /** Hands each layer's attention weights [B, NH, T, T] to {@code sink}, in layer order (explanations). */
    EncoderForward recordingAttention(java.util.List<Tensor> sink) {
        blocks.recordingAttention(sink);
        return this;
    }

    /**
     * The final hidden states from the token embeddings (the {@code wte} rows, or anything an
     * explanation puts in their place); positions, the token type and the embedding LayerNorm are
     * applied here.
     *
     * @param tok [B, T, C] token embeddings
     * @return [B, T, C]
     */
    Tensor hiddenFromEmbeddings(Tensor tok, Tensor stepIds, Tensor lengths, DType dtype) {
        Tensor x;
        try (Graph.Scope s = graph.scope("embed")) {
            Tensor pos = blocks.p(EncoderLayout.WPE).gather(stepIds);               // [1, T, C]
            // One segment: every token has type 0.
            Tensor type = blocks.p(EncoderLayout.WTT)
                    .slice(new long[] {0}, new long[] {1}, new long[] {0});         // [1, C]
            x = blocks.drop(blocks.layerNorm(tok.add(pos).add(type), EncoderLayout.LN_EMB)); // [B, T, C]
        }
        Tensor bias = lengths == null ? null : paddingBias(stepIds, lengths, dtype); // [B, 1, 1, T]
        for (int layer = 0; layer < cfg.nLayer(); layer++) {
            String h = "h." + layer;
            try (Graph.Scope s = graph.scope(h)) {
                if (cfg.preLayerNorm()) {
                    x = x.add(blocks.attention(blocks.layerNorm(x, h + ".ln_1"), h + ".attn", bias)); // [B, T, C]
                    x = x.add(blocks.mlp(blocks.layerNorm(x, h + ".ln_2"), h + ".mlp"));             // [B, T, C]
                } else {
                    x = blocks.layerNorm(x.add(blocks.attention(x, h + ".attn", bias)), h + ".ln_1"); // [B, T, C]
                    x = blocks.layerNorm(x.add(blocks.mlp(x, h + ".mlp")), h + ".ln_2");             // [B, T, C]
                }
            }
        }
        if (cfg.preLayerNorm()) {
            try (Graph.Scope s = graph.scope("ln_f")) {
                x = blocks.layerNorm(x, "ln_f");                                    // [B, T, C]
            }
        }
        return x;
    }

    /**
     * The MLM head: dense, GELU, LayerNorm, then the decoder tied to the token embedding plus a
     * per-token bias.
     *
     * @param hidden [..., C]
     * @return [..., V]
     */
    Tensor mlmLogits(Tensor hidden) {
        try (Graph.Scope s = graph.scope("mlm")) {
            Tensor t = blocks.linear(hidden, EncoderLayout.MLM_PREFIX + "dense").gelu(cfg.gelu()); // [..., C]
            t = blocks.layerNorm(t, EncoderLayout.MLM_PREFIX + "ln_t");                           // [..., C]
            return t.matMul(blocks.p(EncoderLayout.WTE).transpose(1, 0))                          // [..., V]
                    .add(blocks.p(EncoderLayout.MLM_PREFIX + "bias"));
        }
    }

    /**
     * The additive attention bias of right-padded rows: 0 for keys at positions below the row's
     * length, -inf for padded keys, so no query (real or padded) ever reads a padded key and
     * padding cannot change a real position's output. Every row has at least one real token, so
     * no softmax row is all -inf.
     *
     * @return [B, 1, 1, T]
     */
    static Tensor paddingBias(Tensor stepIds, Tensor lengths, DType dtype) {
        return TransformerBlocks.paddingBias(stepIds, lengths, dtype);
    }

    /** int64 [1, T] constant 0 .. T-1. */
    static Tensor stepIds(Graph graph, int t) {
        long[] steps = new long[t];
        for (int i = 0; i < t; i++) {
            steps[i] = i;
        }
        return graph.constant(TensorData.ofLongs(steps, 1, t));
    }
}
