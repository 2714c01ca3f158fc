package io.troupe.model.gpt;

import io.troupe.model.graph.Composites;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
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
    private boolean recomputeAttention;

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

    /**
     * Makes every attention layer recompute its attention weights in the backward pass instead
     * of keeping them (activation checkpointing, {@link RecomputedAttention}); the gradients stay
     * the same (bit-identical without dropout). Returns these blocks.
     */
    public TransformerBlocks recomputingAttention(boolean on) {
        this.recomputeAttention = on;
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
        return attend(q, kT, v, bias, prefix);                      // [B, T, C]
    }

    /**
     * Multi-head cross-attention (the encoder-decoder's): queries {@code prefix.q_proj} [C, C]
     * from {@code x}, keys and values {@code prefix.kv_proj} [C, 2C] from the encoder output
     * {@code memory}, and the output projection {@code prefix.c_proj} [C, C].
     *
     * @param x [B, T, C] decoder states
     * @param memory [B, S, C] encoder output
     * @param bias additive bias broadcastable to [B, NH, T, S]: -inf on padded source keys ([B, 1, 1, S]), or null
     * @return [B, T, C]
     */
    public Tensor crossAttention(Tensor x, Tensor memory, String prefix, Tensor bias) {
        Tensor[] kv = crossKeysValues(memory, prefix);
        return crossAttention(x, kv[0], kv[1], prefix, bias);      // [B, T, C]
    }

    /**
     * The cross-attention keys (transposed) and values of an encoder output, which depend only on
     * the source: cached decoding computes them once per input.
     *
     * @param memory [B, S, C]
     * @return {keys [B, NH, HS, S], values [B, NH, S, HS]}
     */
    public Tensor[] crossKeysValues(Tensor memory, String prefix) {
        int c = nEmbd;
        int nh = nHead;
        int hs = c / nh;
        List<Tensor> kv = linear(memory, prefix + ".kv_proj").split(2, c, c); // 2 x [B, S, C]
        Tensor kT = kv.get(0).reshape(0, 0, nh, hs).transpose(0, 2, 3, 1);   // [B, NH, HS, S]
        Tensor v = kv.get(1).reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);    // [B, NH, S, HS]
        return new Tensor[] {kT, v};
    }

    /**
     * Cross-attention over keys and values from {@link #crossKeysValues}.
     *
     * @param x [B, T, C] decoder states
     * @param kT [B, NH, HS, S]
     * @param v [B, NH, S, HS]
     * @return [B, T, C]
     */
    public Tensor crossAttention(Tensor x, Tensor kT, Tensor v, String prefix, Tensor bias) {
        int hs = nEmbd / nHead;
        Tensor q = linear(x, prefix + ".q_proj").mul(1.0 / Math.sqrt(hs))
                .reshape(0, 0, nHead, hs).transpose(0, 2, 1, 3);    // [B, NH, T, HS]
        return attend(q, kT, v, bias, prefix);                      // [B, T, C]
    }

    /** Scaled scores, bias, softmax, dropout, weighted values and the output projection. */
    private Tensor attend(Tensor q, Tensor kT, Tensor v, Tensor bias, String prefix) {
        int c = nEmbd;
        Tensor scores = q.matMul(kT);                               // [B, NH, T, S]
        // An additive -inf bias rather than Where: the same softmax, but its backward is the
        // identity, so the backward pass needs no masking op at all.
        Tensor masked = bias == null ? scores : scores.add(bias);   // [B, NH, T, S]
        Tensor probabilities = masked.softmax(-1);                  // [B, NH, T, S]
        if (attentionSink != null) {
            attentionSink.add(probabilities);
        }
        Tensor att = drop(probabilities);                           // [B, NH, T, S]
        Tensor weighted = att.matMul(v);                            // [B, NH, T, HS]
        if (recomputeAttention) {
            RecomputedAttention.declare(q, kT, v, bias, att, dropout, weighted);
        }
        Tensor y = weighted.transpose(0, 2, 1, 3).reshape(0, 0, c); // [B, T, C]
        return drop(linear(y, prefix + ".c_proj"));                 // [B, T, C]
    }

    /** The MLP {@code prefix.c_fc} [C, F], GELU, {@code prefix.c_proj} [F, C]: [B, T, C] to [B, T, C]. */
    public Tensor mlp(Tensor x, String prefix) {
        Tensor hidden = linear(x, prefix + ".c_fc").gelu(gelu);    // [B, T, F]
        return drop(linear(hidden, prefix + ".c_proj"));            // [B, T, C]
    }

    /**
     * The additive attention bias of right-padded rows: 0 for keys at positions below the row's
     * length, -inf for padded keys, so no query ever reads a padded key. Every row must have at
     * least one real token, so no softmax row is all -inf.
     *
     * @param stepIds int64 [1, T]: 0 .. T-1
     * @param lengths int64 [B]: real tokens per row
     * @return [B, 1, 1, T]
     */
    public static Tensor paddingBias(Tensor stepIds, Tensor lengths, DType dtype) {
        Graph g = stepIds.graph();
        Tensor real = stepIds.apply("Less", Map.of(), lengths.unsqueeze(1));       // [B, T] bool
        Tensor zero = g.scalar(dtype, 0);
        Tensor minusInf = g.scalar(dtype, Double.NEGATIVE_INFINITY);
        return zero.where(real, minusInf).unsqueeze(1, 2);                           // [B, 1, 1, T]
    }

    /** The constant [T, T] causal bias: 0 on and below the diagonal, -inf above it. */
    public static Tensor causalBias(Graph graph, int t, DType dtype) {
        double[] bias = new double[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                bias[i * t + j] = Double.NEGATIVE_INFINITY;
            }
        }
        if (dtype == DType.DOUBLE) {
            return graph.constant(TensorData.ofDoubles(bias, t, t));
        }
        float[] f = new float[bias.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) bias[i];
        }
        return graph.constant(TensorData.ofFloats(f, t, t));
    }
}
