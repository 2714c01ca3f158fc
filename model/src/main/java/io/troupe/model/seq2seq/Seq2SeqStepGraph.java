package io.troupe.model.seq2seq;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

/**
 * The cached decoder step of {@link Seq2SeqCacheGraphs}, built for the one-token case rather than
 * from the training blocks: the same parameters and the same arithmetic as
 * {@link Seq2SeqForward#decode} at one position, in fewer and fused nodes, because a step does
 * little arithmetic (a [B, C] row through each weight) and ORT's cost per node dominates it.
 *
 * <ul>
 *   <li>Rows are [B, C], not [B, 1, C], so every linear is one {@code Gemm} with its bias, and the
 *       output projection is {@code Gemm(h, wte, transB)} over the tied embedding, not a
 *       transposed copy.</li>
 *   <li>LayerNorm is ONNX's {@code LayerNormalization} (one fused kernel) instead of the training
 *       graph's ReduceMean/Sub/Mul/Sqrt/Reciprocal composite, which it equals to rounding. (The
 *       composite is kept in training for its backward and its speed on [T, C] inputs.)</li>
 *   <li>The past is a fixed [T, B, C] (T = maxTarget), position-major, with positions from P on
 *       masked: every step has the same shapes, and one head's keys are a reshape of the rows, so
 *       only one small Transpose per cache tensor remains.</li>
 * </ul>
 */
final class Seq2SeqStepGraph {
    private final Graph graph;
    private final Map<String, Tensor> weights;
    private final int c;
    private final int nh;
    private final int hs;

    private Seq2SeqStepGraph(Graph graph, Map<String, Tensor> weights, Seq2SeqConfig cfg) {
        this.graph = graph;
        this.weights = weights;
        this.c = cfg.nEmbd();
        this.nh = cfg.nHead();
        this.hs = c / nh;
    }

    static Graph build(Seq2SeqConfig cfg, FloatBuffer params) {
        Graph graph = new Graph("seq2seq_cache_step");
        Map<String, Tensor> weights = Seq2SeqGraphs.initializers(graph, cfg, params);
        Seq2SeqStepGraph g = new Seq2SeqStepGraph(graph, weights, cfg);
        int nh = cfg.nHead();
        int hs = cfg.nEmbd() / nh;
        int t = cfg.maxTarget();
        Tensor tgtIn = graph.input(Seq2SeqGraphs.TGT_IN, DType.INT64, Shape.mixed("batch"));
        Tensor position = graph.input(Seq2SeqCacheGraphs.POSITION, DType.INT64, Shape.of(1));
        Tensor crossBias = graph.input(Seq2SeqCacheGraphs.CROSS_BIAS, DType.FLOAT,
                Shape.mixed(1, 1, 1, "src_seq"));
        Tensor selfBias = g.selfBias(position, t);                                        // [T + 1]
        Tensor x = g.p(Seq2SeqLayout.WTE).gather(tgtIn)                                   // [B, C]
                .add(g.p("dec.wpe").gather(position));                                    // [1, C]
        for (int layer = 0; layer < cfg.decoderLayers(); layer++) {
            String h = "dec.h." + layer;
            Tensor pastK = graph.input(Seq2SeqCacheGraphs.pastKey(layer), DType.FLOAT, Shape.mixed(t, "batch", g.c));
            Tensor pastV = graph.input(Seq2SeqCacheGraphs.pastValue(layer), DType.FLOAT, Shape.mixed(t, "batch", g.c));
            Tensor crossK = graph.input(Seq2SeqCacheGraphs.crossKey(layer), DType.FLOAT,
                    Shape.mixed(1, nh, hs, "src_seq"));
            Tensor crossV = graph.input(Seq2SeqCacheGraphs.crossValue(layer), DType.FLOAT,
                    Shape.mixed(1, nh, "src_seq", hs));
            try (Graph.Scope s = graph.scope(h)) {
                x = x.add(g.selfAttention(g.layerNorm(x, h + ".ln_1"), h + ".attn", pastK, pastV, selfBias,
                        layer));                                                           // [B, C]
                x = x.add(g.crossAttention(g.layerNorm(x, h + ".ln_x"), h + ".xattn", crossK, crossV,
                        crossBias));                                                       // [B, C]
                Tensor hidden = g.linear(g.layerNorm(x, h + ".ln_2"), h + ".mlp.c_fc")
                        .gelu(Seq2SeqConfig.GELU);                                         // [B, F]
                x = x.add(g.linear(hidden, h + ".mlp.c_proj"));                            // [B, C]
            }
        }
        Tensor last = g.layerNorm(x, "dec.ln_f");                                          // [B, C]
        // Tied output projection: scores against the shared embedding [V, C], read transposed in place.
        graph.output(Seq2SeqGraphs.LOGITS, last.gemm(g.p(Seq2SeqLayout.WTE), null, false, true, 1.0, 1.0)); // [B, V]
        return graph;
    }

    private Tensor p(String name) {
        Tensor t = weights.get(name);
        if (t == null) {
            throw new IllegalStateException("parameter " + name + " is missing");
        }
        return t;
    }

    /** x @ W + b as one Gemm, W stored [in, out]: [B, in] to [B, out]. */
    private Tensor linear(Tensor x, String prefix) {
        return x.gemm(p(prefix + ".weight"), p(prefix + ".bias"), false, false, 1.0, 1.0);
    }

    /** ONNX LayerNormalization over C, its Y output only: [B, C]. */
    private Tensor layerNorm(Tensor x, String prefix) {
        return graph.applyMulti("LayerNormalization", List.of(x, p(prefix + ".weight"), p(prefix + ".bias")),
                Map.of("axis", -1L, "epsilon", Seq2SeqConfig.LAYER_NORM_EPS), 1).get(0);
    }

    /**
     * [T + 1] additive bias over the past's T positions and then the new token: 0 for the P real
     * past positions and the new token, -inf for the unused positions P .. T-1.
     */
    private Tensor selfBias(Tensor position, int t) {
        long[] index = new long[t + 1];
        for (int i = 0; i < t; i++) {
            index[i] = i;
        }
        index[t] = -1;                                                   // the new token: always < P
        Tensor real = graph.constant(TensorData.ofLongs(index, t + 1))
                .apply("Less", Map.of(), position);                       // [T + 1] bool
        return graph.scalar(DType.FLOAT, 0).where(real, graph.scalar(DType.FLOAT, Double.NEGATIVE_INFINITY));
    }

    /**
     * Self-attention of the new token over the past and itself.
     *
     * @param x [B, C] normalized rows
     * @param pastK [T, B, C], pastV [T, B, C]
     * @param selfBias [T + 1]
     * @return [B, C], after the output projection
     */
    private Tensor selfAttention(Tensor x, String prefix, Tensor pastK, Tensor pastV, Tensor selfBias, int layer) {
        List<Tensor> qkv = linear(x, prefix + ".c_attn").split(1, c, c, c);             // 3 x [B, C]
        Tensor q = qkv.get(0).mul(1.0 / Math.sqrt(hs)).reshape(-1, 1, hs);              // [B*NH, 1, HS]
        Tensor k = qkv.get(1);                                                          // [B, C]
        Tensor v = qkv.get(2);                                                          // [B, C]
        graph.output(Seq2SeqCacheGraphs.newKey(layer), k);
        graph.output(Seq2SeqCacheGraphs.newValue(layer), v);
        Tensor keys = graph.concat(0, List.of(pastK, k.unsqueeze(0)))                   // [T + 1, B, C]
                .reshape(0, -1, hs).transpose(1, 2, 0);                                 // [B*NH, HS, T + 1]
        Tensor values = graph.concat(0, List.of(pastV, v.unsqueeze(0)))                 // [T + 1, B, C]
                .reshape(0, -1, hs).transpose(1, 0, 2);                                 // [B*NH, T + 1, HS]
        Tensor y = q.matMul(keys).add(selfBias).softmax(-1).matMul(values)             // [B*NH, 1, HS]
                .reshape(-1, c);                                                        // [B, C]
        return linear(y, prefix + ".c_proj");                                           // [B, C]
    }

    /**
     * Cross-attention of the new token over the cached source keys and values.
     *
     * @param x [B, C] normalized rows
     * @param kT [1, NH, HS, S], v [1, NH, S, HS], bias [1, 1, 1, S]: one source, shared by the B rows
     * @return [B, C], after the output projection
     */
    private Tensor crossAttention(Tensor x, String prefix, Tensor kT, Tensor v, Tensor bias) {
        Tensor q = linear(x, prefix + ".q_proj").mul(1.0 / Math.sqrt(hs)).reshape(-1, nh, 1, hs); // [B, NH, 1, HS]
        Tensor y = q.matMul(kT).add(bias).softmax(-1).matMul(v)                          // [B, NH, 1, HS]
                .reshape(-1, c);                                                         // [B, C]
        return linear(y, prefix + ".c_proj");                                            // [B, C]
    }
}
