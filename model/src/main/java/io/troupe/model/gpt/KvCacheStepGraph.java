package io.troupe.model.gpt;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

/**
 * The GPT decode step for a server's batch: one new token per row against a past the caller
 * keeps in place, returning only the new token's keys and values.
 *
 * <p>Why a second decoder graph: {@link KvCacheGraphs#decoder} has the Hugging Face interface,
 * whose {@code present} outputs are the whole past with the new position appended. Every step
 * therefore copies every row's whole cache (read and write), and a batch whose rows change must
 * be assembled into one padded past first. Here the past is a fixed capacity of T positions per
 * row, [B, NH, T, HS] (the caller's arena, read in place), with an additive {@value #PAST_BIAS}
 * that hides the positions a row does not hold yet. The new token's attention is split so that
 * the past is never concatenated: scores against the past (one MatMul reading it) and against the
 * new key (a dot product) are joined only as [B, NH, T + 1] scores, and the weighted sum is the
 * past's MatMul plus the new value's share. The same blocks and weights as the training graph
 * otherwise ({@link GptForward}'s LayerNorm, Linear and MLP), so the logits equal the Hugging
 * Face decoder's to rounding.
 *
 * <ul>
 *   <li>in: {@value #INPUT_IDS} int64 [B], {@value #POSITION_IDS} int64 [B], {@value #PAST_BIAS}
 *       float [B, T] (0 for a held position, -inf for an empty one), and per layer N
 *       {@code past_key_values.N.key} / {@code .value} float [B, NH, T, HS];</li>
 *   <li>out: {@value #LOGITS} float [B, V], and per layer {@code new.N.key} / {@code new.N.value}
 *       float [B, C], heads in order (C = NH x HS), which the caller writes into its arena.</li>
 * </ul>
 */
public final class KvCacheStepGraph {
    public static final String INPUT_IDS = GptGraphs.INPUT_IDS;
    public static final String POSITION_IDS = KvCacheGraphs.POSITION_IDS;
    public static final String PAST_BIAS = "past_bias";
    public static final String LOGITS = GptGraphs.LOGITS;

    private KvCacheStepGraph() {
    }

    /** Output name of layer {@code layer}'s new key, [B, C]. */
    public static String newKey(int layer) {
        return "new." + layer + ".key";
    }

    /** Output name of layer {@code layer}'s new value, [B, C]. */
    public static String newValue(int layer) {
        return "new." + layer + ".value";
    }

    /**
     * The step graph with the weights stored as initializers.
     *
     * @param params the flat float32 parameters, laid out as {@link ParameterLayout#of}
     */
    public static Graph build(GptConfig cfg, FloatBuffer params) {
        ParameterLayout layout = KvCacheGraphs.checkedLayout(cfg, params);
        Graph graph = new Graph("gpt_decoder_step");
        Tensor ids = graph.input(INPUT_IDS, DType.INT64, Shape.mixed("batch_size"));
        Tensor positions = graph.input(POSITION_IDS, DType.INT64, Shape.mixed("batch_size"));
        Tensor pastBias = graph.input(PAST_BIAS, DType.FLOAT, Shape.mixed("batch_size", "past_capacity"));
        Shape pastShape = Shape.mixed("batch_size", cfg.nHead(), "past_capacity", cfg.headSize());
        double scale = 1.0 / Math.sqrt(cfg.headSize());
        // The query's 1/sqrt(HS) folded into its columns of c_attn: one Mul node fewer per layer and step.
        Map<String, Tensor> weights = KvCacheGraphs.initializers(graph, layout, params, (view, slice) ->
                view.name().endsWith(".attn.c_attn.weight") || view.name().endsWith(".attn.c_attn.bias")
                        ? scaledQueryColumns(slice, view.shape(), cfg.nEmbd(), scale) : slice);
        GptForward blocks = new GptForward(graph, cfg, weights, 0, 0);
        Tensor bias = pastBias.unsqueeze(1, 2);                                                   // [B, 1, 1, T]
        Tensor x;
        try (Graph.Scope s = graph.scope("embed")) {
            x = weights.get("wte").gather(ids).add(weights.get("wpe").gather(positions));         // [B, C]
        }
        for (int layer = 0; layer < cfg.nLayer(); layer++) {
            String h = "h." + layer;
            Tensor pastK = graph.input(KvCacheGraphs.pastKey(layer), DType.FLOAT, pastShape);    // [B, NH, T, HS]
            Tensor pastV = graph.input(KvCacheGraphs.pastValue(layer), DType.FLOAT, pastShape);  // [B, NH, T, HS]
            try (Graph.Scope s = graph.scope(h)) {
                Tensor a;
                try (Graph.Scope s1 = graph.scope("attn")) {
                    a = attention(graph, cfg, blocks, blocks.layerNorm(x, h + ".ln_1"), h + ".attn", bias,
                            pastK, pastV, layer);
                }
                x = x.add(a);                                                                     // [B, C]
                Tensor m;
                try (Graph.Scope s2 = graph.scope("mlp")) {
                    m = blocks.mlp(blocks.layerNorm(x, h + ".ln_2"), h + ".mlp");
                }
                x = x.add(m);                                                                     // [B, C]
            }
        }
        try (Graph.Scope s = graph.scope("head")) {
            Tensor xf = blocks.layerNorm(x, "ln_f");                                              // [B, C]
            Tensor head = cfg.tiedEmbeddings() ? weights.get("wte") : weights.get("lm_head.weight"); // [V, C]
            graph.output(LOGITS, xf.matMul(head.transpose(1, 0)));                                // [B, V]
        }
        return graph;
    }

    /**
     * A copy of a fused query/key/value weight [C, 3C] (or bias [3C]) whose first C columns, the
     * query's, are multiplied by {@code scale}.
     */
    private static FloatBuffer scaledQueryColumns(FloatBuffer source, long[] shape, int c, double scale) {
        int rows = shape.length == 2 ? (int) shape[0] : 1;
        float[] copy = new float[rows * 3 * c];
        source.duplicate().get(copy);
        for (int row = 0; row < rows; row++) {
            for (int col = 0; col < c; col++) {
                copy[row * 3 * c + col] = (float) (copy[row * 3 * c + col] * scale);
            }
        }
        return FloatBuffer.wrap(copy);
    }

    /**
     * Attention of each row's new token over its held past positions and itself.
     *
     * @param x [B, C] normalized rows (the query's columns of c_attn carry 1/sqrt(HS))
     * @param bias [B, 1, 1, T]: 0 where a row holds a position, -inf where it does not
     * @param pastK [B, NH, T, HS], pastV [B, NH, T, HS], read in place
     * @return [B, C] after the output projection
     */
    private static Tensor attention(Graph graph, GptConfig cfg, GptForward blocks, Tensor x, String prefix,
                                    Tensor bias, Tensor pastK, Tensor pastV, int layer) {
        int c = cfg.nEmbd();
        int nh = cfg.nHead();
        int hs = cfg.headSize();
        Tensor qkv = blocks.linear(x, prefix + ".c_attn");                                        // [B, 3C], q scaled
        // The key and value are named as the graph outputs they are, so that no Identity copies them.
        List<Tensor> parts = graph.applyMultiNamed("Split", List.of(qkv, graph.longs(c, c, c)), Map.of("axis", 1L),
                java.util.Arrays.asList(null, newKey(layer), newValue(layer)));
        Tensor q = parts.get(0);                                                                  // [B, C]
        Tensor k = parts.get(1);                                                                  // [B, C]
        Tensor v = parts.get(2);                                                                  // [B, C]
        graph.output(k.name(), k);
        graph.output(v.name(), v);
        Tensor qColumn = q.reshape(-1, nh, hs, 1);                                                // [B, NH, HS, 1]
        Tensor pastScores = pastK.matMul(qColumn).reshape(0, 0, 1, -1).add(bias);                 // [B, NH, 1, T]
        Tensor newScore = q.mul(k).reshape(-1, nh, 1, hs).reduceSum(true, 3);                     // [B, NH, 1, 1]
        Tensor weights = graph.concat(3, List.of(pastScores, newScore)).softmax(-1);              // [B, NH, 1, T + 1]
        Tensor pastWeights = weights.slice(new long[] {0}, new long[] {-1}, new long[] {3});      // [B, NH, 1, T]
        Tensor newWeight = weights.slice(new long[] {-1}, new long[] {Long.MAX_VALUE}, new long[] {3}); // [B, NH, 1, 1]
        Tensor y = pastWeights.matMul(pastV)                                                      // [B, NH, 1, HS]
                .add(newWeight.mul(v.reshape(-1, nh, 1, hs)))                                     // [B, NH, 1, HS]
                .reshape(-1, c);                                                                  // [B, C]
        return blocks.linear(y, prefix + ".c_proj");                                              // [B, C]
    }
}
