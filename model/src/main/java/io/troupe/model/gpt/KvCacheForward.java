package io.troupe.model.gpt;

import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The GPT forward pass over new tokens that attend to cached keys and values as well as to each
 * other. The same blocks as {@link GptForward} (whose LayerNorm, Linear and MLP it reuses);
 * only attention differs. Shapes: B batch, S new tokens, P cached positions, K = P + S.
 */
final class KvCacheForward {
    /** Logits [B, S, V] and, per layer, the keys and values [B, NH, K, HS] with the new ones appended. */
    record Output(Tensor logits, List<Tensor[]> present) {
    }

    private final Graph graph;
    private final GptConfig cfg;
    private final Map<String, Tensor> params;
    private final GptForward blocks;

    KvCacheForward(Graph graph, GptConfig cfg, Map<String, Tensor> params) {
        this.graph = graph;
        this.cfg = cfg;
        this.params = params;
        this.blocks = new GptForward(graph, cfg, params, 0, 0);
    }

    /**
     * @param ids int64 [B, S]
     * @param positionIds int64 [B, S]
     * @param bias additive attention bias [B, 1, S, K]
     * @param past per layer {keys, values}, each [B, NH, P, HS]
     */
    Output run(Tensor ids, Tensor positionIds, Tensor bias, List<Tensor[]> past) {
        Tensor x;
        try (Graph.Scope s = graph.scope("embed")) {
            x = params.get("wte").gather(ids).add(params.get("wpe").gather(positionIds));   // [B, S, C]
        }
        List<Tensor[]> present = new ArrayList<>();
        for (int layer = 0; layer < cfg.nLayer(); layer++) {
            String h = "h." + layer;
            try (Graph.Scope s = graph.scope(h)) {
                Tensor[] kv = past.get(layer);
                Tensor a;
                try (Graph.Scope s1 = graph.scope("attn")) {
                    a = attention(blocks.layerNorm(x, h + ".ln_1"), h + ".attn", bias, kv[0], kv[1], layer, present);
                }
                x = x.add(a);                                                                 // [B, S, C]
                Tensor m;
                try (Graph.Scope s2 = graph.scope("mlp")) {
                    m = blocks.mlp(blocks.layerNorm(x, h + ".ln_2"), h + ".mlp");
                }
                x = x.add(m);                                                                 // [B, S, C]
            }
        }
        try (Graph.Scope s = graph.scope("head")) {
            Tensor xf = blocks.layerNorm(x, "ln_f");                                          // [B, S, C]
            Tensor head = cfg.tiedEmbeddings() ? params.get("wte") : params.get("lm_head.weight"); // [V, C]
            return new Output(xf.matMul(head.transpose(1, 0)), present);                      // [B, S, V]
        }
    }

    private Tensor attention(Tensor x, String prefix, Tensor bias, Tensor pastKey, Tensor pastValue, int layer,
                             List<Tensor[]> present) {
        int c = cfg.nEmbd();
        int nh = cfg.nHead();
        int hs = cfg.headSize();
        Tensor qkv = blocks.linear(x, prefix + ".c_attn");                                    // [B, S, 3C]
        List<Tensor> parts = qkv.split(2, c, c, c);                                           // 3 x [B, S, C]
        Tensor q = parts.get(0).mul(1.0 / Math.sqrt(hs))
                .reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);                                 // [B, NH, S, HS]
        Tensor k = parts.get(1).reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);                  // [B, NH, S, HS]
        Tensor v = parts.get(2).reshape(0, 0, nh, hs).transpose(0, 2, 1, 3);                  // [B, NH, S, HS]
        // Named as the graph outputs they are, so that no Identity copies the whole cache again.
        Tensor keys = graph.applyNamed("Concat", List.of(pastKey, k), Map.of("axis", 2L),
                KvCacheGraphs.presentKey(layer));                                             // [B, NH, K, HS]
        Tensor values = graph.applyNamed("Concat", List.of(pastValue, v), Map.of("axis", 2L),
                KvCacheGraphs.presentValue(layer));                                           // [B, NH, K, HS]
        present.add(new Tensor[] {keys, values});
        Tensor scores = q.matMul(keys.transpose(0, 1, 3, 2)).add(bias);                       // [B, NH, S, K]
        Tensor y = scores.softmax(-1).matMul(values)                                          // [B, NH, S, HS]
                .transpose(0, 2, 1, 3).reshape(0, 0, c);                                      // [B, S, C]
        return blocks.linear(y, prefix + ".c_proj");                                          // [B, S, C]
    }
}
