package io.troupe.model.seq2seq;

import io.troupe.model.gpt.ParameterLayout;
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
 * little arithmetic (one row through each weight) and ORT's cost per node is a large part of it.
 *
 * <ul>
 *   <li>Rows are [B, C], not [B, 1, C], so every linear is one {@code Gemm} with its bias, and the
 *       output projection is {@code Gemm(h, wte, transB)} over the tied embedding, not a
 *       transposed copy.</li>
 *   <li>LayerNorm is ONNX's {@code LayerNormalization} (one fused kernel) instead of the training
 *       graph's ReduceMean/Sub/Mul/Sqrt/Reciprocal composite, which it equals to rounding. (The
 *       composite stays in training for its backward and its speed on [T, C] inputs.)</li>
 *   <li>The fused query/key/value weight [C, 3C] is split into three Gemms at build time, so the
 *       keys and values are graph outputs without a Split or an Identity copy, and the query
 *       Gemm applies the 1/sqrt(HS) scale itself (alpha, and a scaled bias) instead of a Mul.</li>
 *   <li>The past is a fixed T = maxTarget positions in the cross tensors' layouts (keys
 *       transposed [B, NH, HS, T], values [B, NH, T, HS]), positions from P on masked: every
 *       step has the same shapes, and the self-attention needs no Transpose.</li>
 * </ul>
 */
final class Seq2SeqStepGraph {
    private final Graph graph;
    private final Map<String, Tensor> weights;
    private final ParameterLayout layout;
    private final FloatBuffer params;
    private final int c;
    private final int nh;
    private final int hs;
    private final double scale;

    private Seq2SeqStepGraph(Graph graph, Seq2SeqConfig cfg, FloatBuffer params) {
        this.graph = graph;
        this.weights = Seq2SeqGraphs.initializers(graph, cfg, params);
        this.layout = cfg.layout();
        this.params = params;
        this.c = cfg.nEmbd();
        this.nh = cfg.nHead();
        this.hs = c / nh;
        this.scale = 1.0 / Math.sqrt(hs);
    }

    static Graph build(Seq2SeqConfig cfg, FloatBuffer params) {
        Graph graph = new Graph("seq2seq_cache_step");
        Seq2SeqStepGraph g = new Seq2SeqStepGraph(graph, cfg, params);
        int nh = cfg.nHead();
        int hs = cfg.nEmbd() / nh;
        int t = cfg.maxTarget();
        Tensor tgtIn = graph.input(Seq2SeqGraphs.TGT_IN, DType.INT64, Shape.mixed("batch"));
        Tensor position = graph.input(Seq2SeqCacheGraphs.POSITION, DType.INT64, Shape.of(1));
        Tensor crossBias = graph.input(Seq2SeqCacheGraphs.CROSS_BIAS, DType.FLOAT, Shape.mixed(1, 1, 1, "src_seq"));
        Tensor selfBias = g.selfBias(position, t);                                        // [T + 1]
        Tensor x = g.p(Seq2SeqLayout.WTE).gather(tgtIn)                                   // [B, C]
                .add(g.p("dec.wpe").gather(position));                                    // [1, C]
        for (int layer = 0; layer < cfg.decoderLayers(); layer++) {
            String h = "dec.h." + layer;
            Tensor pastK = graph.input(Seq2SeqCacheGraphs.pastKey(layer), DType.FLOAT, Shape.mixed("batch", nh, hs, t));
            Tensor pastV = graph.input(Seq2SeqCacheGraphs.pastValue(layer), DType.FLOAT, Shape.mixed("batch", nh, t, hs));
            Tensor crossK = graph.input(Seq2SeqCacheGraphs.crossKey(layer), DType.FLOAT, Shape.mixed(1, nh, hs, "src_seq"));
            Tensor crossV = graph.input(Seq2SeqCacheGraphs.crossValue(layer), DType.FLOAT, Shape.mixed(1, nh, "src_seq", hs));
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

    /**
     * Part {@code part} (0 = query, 1 = key, 2 = value) of the fused projection {@code prefix}
     * [C, 3C] as its own Gemm: alpha * (x @ W[:, part]) + factor * b[part], [B, C] to [B, C].
     */
    private Tensor projectionPart(Tensor x, String prefix, int part, double alpha, String outputName) {
        float[] w = new float[c * c];
        float[] b = new float[c];
        FloatBuffer weight = view(prefix + ".weight");                                   // [C, 3C]
        for (int row = 0; row < c; row++) {
            weight.get(row * 3 * c + part * c, w, row * c, c);
        }
        view(prefix + ".bias").get(part * c, b, 0, c);
        for (int i = 0; i < c; i++) {
            b[i] = (float) (alpha * b[i]);
        }
        Tensor wPart = graph.constant(TensorData.ofFloats(w, c, c));
        Tensor bPart = graph.constant(TensorData.ofFloats(b, c));
        Map<String, Object> attrs = Map.of("transA", 0L, "transB", 0L, "alpha", alpha, "beta", 1.0);
        List<Tensor> in = List.of(x, wPart, bPart);
        return outputName == null ? graph.apply("Gemm", in, attrs) : graph.applyNamed("Gemm", in, attrs, outputName);
    }

    private FloatBuffer view(String name) {
        ParameterLayout.View v = layout.view(name);
        FloatBuffer slice = params.duplicate();
        slice.position(params.position() + (int) v.offset());
        return slice.slice();
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
     * Self-attention of the new token over the past and itself; its keys and values are graph outputs.
     *
     * @param x [B, C] normalized rows
     * @param pastK [B, NH, HS, T], pastV [B, NH, T, HS]
     * @param selfBias [T + 1]
     * @return [B, C], after the output projection
     */
    private Tensor selfAttention(Tensor x, String prefix, Tensor pastK, Tensor pastV, Tensor selfBias, int layer) {
        String fused = prefix + ".c_attn";
        Tensor q = projectionPart(x, fused, 0, scale, null);                                       // [B, C], scaled
        Tensor k = projectionPart(x, fused, 1, 1.0, Seq2SeqCacheGraphs.newKey(layer));             // [B, C]
        Tensor v = projectionPart(x, fused, 2, 1.0, Seq2SeqCacheGraphs.newValue(layer));           // [B, C]
        graph.output(k.name(), k);                                  // named as the outputs: no Identity copy
        graph.output(v.name(), v);
        Tensor keys = graph.concat(3, List.of(pastK, k.reshape(-1, nh, hs, 1)));                    // [B, NH, HS, T + 1]
        Tensor values = graph.concat(2, List.of(pastV, v.reshape(-1, nh, 1, hs)));                  // [B, NH, T + 1, HS]
        return attend(q, keys, values, selfBias, prefix);                                          // [B, C]
    }

    /**
     * Cross-attention of the new token over the cached source keys and values.
     *
     * @param x [B, C] normalized rows
     * @param kT [1, NH, HS, S], v [1, NH, S, HS], bias [1, 1, 1, S]: one source, shared by the B rows
     * @return [B, C], after the output projection
     */
    private Tensor crossAttention(Tensor x, String prefix, Tensor kT, Tensor v, Tensor bias) {
        String qProj = prefix + ".q_proj";
        Tensor q = x.gemm(p(qProj + ".weight"), scaledBias(qProj + ".bias"), false, false, scale, 1.0); // [B, C], scaled
        return attend(q, kT, v, bias, prefix);                                                   // [B, C]
    }

    /** The bias {@code name} times 1/sqrt(HS), for a Gemm whose alpha scales the product. */
    private Tensor scaledBias(String name) {
        float[] b = new float[c];
        view(name).get(b);
        for (int i = 0; i < c; i++) {
            b[i] = (float) (scale * b[i]);
        }
        return graph.constant(TensorData.ofFloats(b, c));
    }

    /**
     * Scores of the scaled queries against the keys, bias, softmax, weighted values and the output projection.
     *
     * @param q [B, C] scaled queries
     * @param keysT [1|B, NH, HS, N], values [1|B, NH, N, HS], bias broadcastable to [B, NH, 1, N]
     * @return [B, C]
     */
    private Tensor attend(Tensor q, Tensor keysT, Tensor values, Tensor bias, String prefix) {
        Tensor y = q.reshape(-1, nh, 1, hs).matMul(keysT).add(bias).softmax(-1)            // [B, NH, 1, N]
                .matMul(values).reshape(-1, c);                                          // [B, C]
        return linear(y, prefix + ".c_proj");                                            // [B, C]
    }
}
