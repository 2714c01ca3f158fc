package io.troupe.model.gpt;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import java.util.List;
import java.util.Map;

/**
 * The GPT forward pass, emitted into a graph. Shapes in comments use B (batch), T (sequence),
 * C (n_embd), NH (heads), HS (head size = C / NH) and V (vocabulary). B and T may be
 * symbolic (inference graph) or fixed (training graphs); every reshape copies them with 0.
 */
final class GptForward {
    private static final double LAYER_NORM_EPS = 1e-5;
    /**
     * The MLP's GELU: GPT-2's tanh approximation. nanoGPT uses the exact (erf) form; both
     * measured the same step time here and the same losses over 2000 steps (docs/BENCHMARKS.md),
     * but ORT has no double-precision Erf, which would limit the GPT's gradient check to float32.
     */
    static final String GELU_APPROXIMATION = "tanh";

    private final Graph graph;
    private final GptConfig cfg;
    private final TransformerBlocks blocks;

    /**
     * @param params every parameter of the layout, by GPT-2 name
     * @param dropout dropout probability for this graph (0 for evaluation and inference)
     * @param dropoutSeed seed of the first Dropout node's first run; each node gets its own stream
     */
    GptForward(Graph graph, GptConfig cfg, Map<String, Tensor> params, double dropout, long dropoutSeed) {
        this.graph = graph;
        this.cfg = cfg;
        this.blocks = new TransformerBlocks(graph, cfg.nEmbd(), cfg.nHead(), LAYER_NORM_EPS, GELU_APPROXIMATION,
                params, dropout, dropoutSeed);
    }

    /** Lets {@code adapter} change every linear layer's output (LoRA); returns this forward. */
    GptForward withAdapter(LinearAdapter linearAdapter) {
        blocks.withAdapter(linearAdapter);
        return this;
    }

    /**
     * Makes every attention layer append its attention weights (after softmax, [B, NH, T, T]) to
     * {@code sink}, in layer order, as the graph is built; for attention rollout.
     */
    GptForward recordingAttention(List<Tensor> sink) {
        blocks.recordingAttention(sink);
        return this;
    }

    /** Makes every attention layer recompute its weights in the backward pass; returns this forward. */
    GptForward recomputingAttention(boolean on) {
        blocks.recomputingAttention(on);
        return this;
    }

    private Tensor p(String name) {
        return blocks.p(name);
    }

    private Tensor drop(Tensor x) {
        return blocks.drop(x);
    }

    /** x @ W (+ b) for a weight stored [in, out]. */
    Tensor linear(Tensor x, String prefix) {
        return blocks.linear(x, prefix);
    }

    Tensor layerNorm(Tensor x, String prefix) {
        return blocks.layerNorm(x, prefix);
    }

    /**
     * Logits for token ids.
     *
     * @param idx int64 [B, T]
     * @param positions [T, C] rows of wpe for positions 0..T-1
     * @param causalMask [T, T] additive attention bias: 0 where position i may attend to j (j <= i), -inf elsewhere
     * @return logits [B, T, V]
     */
    Tensor logits(Tensor idx, Tensor positions, Tensor causalMask) {
        return head(hidden(idx, positions, causalMask));
    }

    /**
     * The language-model head over final hidden states.
     *
     * @param xf [B, T, C] (or [B, P, C] for selected positions)
     * @return logits [B, T, V]
     */
    Tensor head(Tensor xf) {
        try (Graph.Scope s = graph.scope("head")) {
            Tensor head = cfg.tiedEmbeddings() ? p("wte") : p("lm_head.weight"); // [V, C]
            return xf.matMul(head.transpose(1, 0));                 // [B, T, V]
        }
    }

    /**
     * The final hidden states: embeddings, every block, then ln_f; what the language-model head
     * and a classification head ({@link ClassifierGraphs}) both read.
     *
     * @return [B, T, C]
     */
    Tensor hidden(Tensor idx, Tensor positions, Tensor causalMask) {
        Tensor tok;
        try (Graph.Scope s = graph.scope("embed")) {
            tok = p("wte").gather(idx);                             // [B, T, C]
        }
        return hiddenFromEmbeddings(tok, positions, causalMask);
    }

    /**
     * {@link #hidden} from token embeddings instead of ids: the positions are added here, so an
     * explanation can differentiate with respect to (and interpolate) the token embeddings alone.
     *
     * @param tok [B, T, C] token embeddings (rows of wte for real tokens)
     * @return [B, T, C]
     */
    Tensor hiddenFromEmbeddings(Tensor tok, Tensor positions, Tensor causalMask) {
        Tensor x;
        try (Graph.Scope s = graph.scope("embed")) {
            x = drop(tok.add(positions));                           // [B, T, C]
        }
        for (int layer = 0; layer < cfg.nLayer(); layer++) {
            String h = "h." + layer;
            try (Graph.Scope s = graph.scope(h)) {
                Tensor a;
                try (Graph.Scope s1 = graph.scope("attn")) {
                    a = attention(layerNorm(x, h + ".ln_1"), h + ".attn", causalMask);
                }
                x = x.add(a);                                       // [B, T, C]
                Tensor m;
                try (Graph.Scope s2 = graph.scope("mlp")) {
                    m = mlp(layerNorm(x, h + ".ln_2"), h + ".mlp");
                }
                x = x.add(m);                                       // [B, T, C]
            }
        }
        try (Graph.Scope s = graph.scope("ln_f")) {
            return layerNorm(x, "ln_f");                            // [B, T, C]
        }
    }

    private Tensor attention(Tensor x, String prefix, Tensor causalMask) {
        return blocks.attention(x, prefix, causalMask);             // [B, T, C]
    }

    Tensor mlp(Tensor x, String prefix) {
        return blocks.mlp(x, prefix);                               // [B, T, C]
    }

    /** The constant [T, T] causal bias: 0 on and below the diagonal, -inf above it. */
    static Tensor causalMask(Graph graph, int t, DType dtype) {
        return TransformerBlocks.causalBias(graph, t, dtype);
    }

    /** Shape helper for a fixed [B, T] int64 input. */
    static Shape tokens(int batch, int seqLen) {
        return Shape.of(batch, seqLen);
    }

    static DType checkDtype(DType dtype) {
        if (dtype != DType.FLOAT && dtype != DType.DOUBLE) {
            throw new IllegalArgumentException("GPT graphs are built in float or double, not " + dtype.onnxName());
        }
        return dtype;
    }
}
