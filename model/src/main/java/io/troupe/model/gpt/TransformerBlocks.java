package io.troupe.model.gpt;

import io.troupe.model.graph.Composites;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.List;
import java.util.Map;

/**
 * The pieces a Transformer block is built from, shared by the GPT ({@link GptForward}) and the
 * BERT-style encoder: linear layers (with an optional {@link LinearAdapter}), LayerNorm,
 * multi-head self-attention under an additive bias, the GELU MLP and seeded dropout. Shapes use
 * B (batch), T (sequence), C (width), NH (heads), HS (head size) and F (MLP width).
 */
public final class TransformerBlocks {
    private final Graph graph;
    private final int nEmbd;
    private final int nHead;
    private final double layerNormEps;
    private final String gelu;
    private final Map<String, Tensor> params;
    private final double dropout;
    private final long dropoutSeed;
    private int dropoutNode;
    private LinearAdapter adapter = LinearAdapter.NONE;
    private List<Tensor> attentionSink;

    /**
     * @param layerNormEps the epsilon of every LayerNorm
     * @param gelu the MLP's GELU: "none" (erf) or "tanh"
     * @param params every parameter by name
     * @param dropout dropout probability for this graph (0 for evaluation and inference)
     * @param dropoutSeed seed of the first Dropout node's first run; each node gets its own stream
     */
    public TransformerBlocks(Graph graph, int nEmbd, int nHead, double layerNormEps, String gelu,
                             Map<String, Tensor> params, double dropout, long dropoutSeed) {
        if (!gelu.equals("none") && !gelu.equals("tanh")) {
            throw new IllegalArgumentException("gelu must be none (erf) or tanh, got '" + gelu + "'");
        }
        this.graph = graph;
        this.nEmbd = nEmbd;
        this.nHead = nHead;
        this.layerNormEps = layerNormEps;
        this.gelu = gelu;
        this.params = params;
        this.dropout = dropout;
        this.dropoutSeed = dropoutSeed;
    }

    /** Lets {@code linearAdapter} change every linear layer's output (LoRA); returns these blocks. */
    public TransformerBlocks withAdapter(LinearAdapter linearAdapter) {
        this.adapter = linearAdapter;
        return this;
    }

    /**
     * Makes every attention layer append its attention weights (after softmax, [B, NH, T, T]) to
     * {@code sink}, in layer order, as the graph is built; for attention rollout. Returns these blocks.
     */
    public TransformerBlocks recordingAttention(List<Tensor> sink) {
        this.attentionSink = sink;
        return this;
    }

    public Graph graph() {
        return graph;
    }

    /** The parameter called {@code name}; fails when it is missing. */
    public Tensor p(String name) {
        Tensor t = params.get(name);
        if (t == null) {
            throw new IllegalStateException("parameter " + name + " is missing");
        }
        return t;
    }

    /** The parameter called {@code name}, or null. */
    public Tensor optional(String name) {
        return params.get(name);
    }

    /** Training-mode dropout with this graph's probability; the identity at 0. */
    public Tensor drop(Tensor x) {
        if (dropout == 0) {
            return x;
        }
        // ORT's CPU Dropout seeds run r of a node with (seed + r); spacing the nodes' seeds by
        // 2^32 keeps every node's stream apart for any realistic number of runs.
        Tensor out = x.dropout(dropout, dropoutSeed + ((long) dropoutNode << 32));
        dropoutNode++;
        return out;
    }

    /** x @ W (+ b) for a weight stored [in, out]. */
    public Tensor linear(Tensor x, String prefix) {
        Tensor y = x.matMul(p(prefix + ".weight"));
        Tensor b = optional(prefix + ".bias");
        return adapter.adapt(prefix, x, b == null ? y : y.add(b));
    }

    /** LayerNorm over the last axis with {@code prefix.weight} and the optional {@code prefix.bias}. */
    public Tensor layerNorm(Tensor x, String prefix) {
        return Composites.layerNorm(x, p(prefix + ".weight"), optional(prefix + ".bias"), layerNormEps);
    }

    /**
     * Multi-head self-attention with a fused query/key/value projection {@code prefix.c_attn}
     * [C, 3C] and an output projection {@code prefix.c_proj} [C, C].
     *
     * @param x [B, T, C]
     * @param bias additive attention bias broadcastable to [B, NH, T, T]: 0 where a query may
     *             attend to a key, -inf elsewhere (GPT: a causal [T, T]; encoder: padding [B, 1, 1, T])
     * @return [B, T, C]
     */
    public Tensor attention(Tensor x, String prefix, Tensor bias) {
        int c = nEmbd;
        int nh = nHead;
        int hs = c / nh;
        Tensor qkv = linear(x, prefix + ".c_attn");                  // [B, T, 3C]
        List<Tensor> parts = qkv.split(2, c, c, c);                 // 3 x [B, T, C]
        // Scaling q (B*T*C values) is cheaper than scaling the scores (B*NH*T*T) when T > HS.
        Tensor q = parts.get(0).mul(1.0 / Math.sqrt(hs))
                .reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);       // [B, NH, T, HS]
        Tensor kT = parts.get(1).reshape(0, 0, nh, hs).transpose(0, 2, 3, 1); // [B, NH, HS, T]
        Tensor v = parts.get(2).reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);  // [B, NH, T, HS]
        Tensor scores = q.matMul(kT);                               // [B, NH, T, T]
        // An additive -inf bias rather than Where: the same softmax, but its backward is the
        // identity, so the backward pass needs no masking op at all.
        Tensor masked = bias == null ? scores : scores.add(bias);   // [B, NH, T, T]
        Tensor probabilities = masked.softmax(-1);                  // [B, NH, T, T]
        if (attentionSink != null) {
            attentionSink.add(probabilities);
        }
        Tensor att = drop(probabilities);                           // [B, NH, T, T]
        Tensor y = att.matMul(v)                                    // [B, NH, T, HS]
                .transpose(0, 2, 1, 3).reshape(0, 0, c);           // [B, T, C]
        return drop(linear(y, prefix + ".c_proj"));                 // [B, T, C]
    }

    /** The MLP {@code prefix.c_fc} [C, F], GELU, {@code prefix.c_proj} [F, C]: [B, T, C] to [B, T, C]. */
    public Tensor mlp(Tensor x, String prefix) {
        Tensor hidden = linear(x, prefix + ".c_fc").gelu(gelu);    // [B, T, F]
        return drop(linear(hidden, prefix + ".c_proj"));            // [B, T, C]
    }
}
