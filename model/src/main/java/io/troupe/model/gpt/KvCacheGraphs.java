package io.troupe.model.gpt;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The GPT decoder with a key/value cache, one graph used both ways: a prefill runs the prompt
 * with an empty past (past length 0), and each decode step runs one new token per sequence
 * with the keys and values of everything before it.
 *
 * <p>Inputs and outputs carry the names and layouts of Hugging Face / ONNX Runtime GenAI
 * decoder exports (GenAI's {@code genai_config.json} defaults), so other ORT tools can drive it:
 * <ul>
 *   <li>{@value #INPUT_IDS} int64 [B, S]: the new tokens;</li>
 *   <li>{@value #ATTENTION_MASK} int64 [B, P + S]: 1 for a position to attend to, 0 for padding,
 *       over the past and the new tokens, so that sequences of different lengths share a batch
 *       (their pasts padded to the longest, P);</li>
 *   <li>{@value #POSITION_IDS} int64 [B, S]: each new token's position (its row of wpe);</li>
 *   <li>{@code past_key_values.N.key} / {@code .value} float [B, NH, P, HS] for every layer N;</li>
 *   <li>out: {@value #LOGITS} float [B, S, V] and {@code present.N.key} / {@code .value}
 *       float [B, NH, P + S, HS]: the past with the new tokens' keys and values appended.</li>
 * </ul>
 * A new token attends to past position j when the mask holds 1 there, and to the new tokens up to
 * itself. P + S must not exceed block_size.
 */
public final class KvCacheGraphs {
    public static final String INPUT_IDS = GptGraphs.INPUT_IDS;
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String POSITION_IDS = "position_ids";
    public static final String LOGITS = GptGraphs.LOGITS;

    private KvCacheGraphs() {
    }

    /** Input name of layer {@code layer}'s cached keys, [B, NH, P, HS]. */
    public static String pastKey(int layer) {
        return "past_key_values." + layer + ".key";
    }

    /** Input name of layer {@code layer}'s cached values, [B, NH, P, HS]. */
    public static String pastValue(int layer) {
        return "past_key_values." + layer + ".value";
    }

    /** Output name of layer {@code layer}'s keys, past and new, [B, NH, P + S, HS]. */
    public static String presentKey(int layer) {
        return "present." + layer + ".key";
    }

    /** Output name of layer {@code layer}'s values, past and new, [B, NH, P + S, HS]. */
    public static String presentValue(int layer) {
        return "present." + layer + ".value";
    }

    /**
     * The decoder graph with the weights stored as initializers.
     *
     * @param params the flat float32 parameters, laid out as {@link ParameterLayout#of}
     */
    public static Graph decoder(GptConfig cfg, FloatBuffer params) {
        ParameterLayout layout = checkedLayout(cfg, params);
        Graph graph = new Graph("gpt_decoder");
        Tensor ids = graph.input(INPUT_IDS, DType.INT64, Shape.mixed("batch_size", "sequence_length"));
        Tensor mask = graph.input(ATTENTION_MASK, DType.INT64, Shape.mixed("batch_size", "total_sequence_length"));
        Tensor positionIds = graph.input(POSITION_IDS, DType.INT64, Shape.mixed("batch_size", "sequence_length"));
        List<Tensor[]> past = new ArrayList<>();
        Shape pastShape = Shape.mixed("batch_size", cfg.nHead(), "past_sequence_length", cfg.headSize());
        for (int layer = 0; layer < cfg.nLayer(); layer++) {
            past.add(new Tensor[] {
                graph.input(pastKey(layer), DType.FLOAT, pastShape),
                graph.input(pastValue(layer), DType.FLOAT, pastShape)});
        }
        Map<String, Tensor> weights = initializers(graph, layout, params, (view, slice) -> slice);
        Tensor bias = attentionBias(graph, cfg, ids, mask);                     // [B, 1, S, P+S]
        KvCacheForward forward = new KvCacheForward(graph, cfg, weights);
        KvCacheForward.Output out = forward.run(ids, positionIds, bias, past);
        graph.output(LOGITS, out.logits());
        for (int layer = 0; layer < cfg.nLayer(); layer++) {
            graph.output(presentKey(layer), out.present().get(layer)[0]);
            graph.output(presentValue(layer), out.present().get(layer)[1]);
        }
        return graph;
    }

    /** The layout of {@code cfg}'s parameters, once {@code params} is known to hold them all. */
    static ParameterLayout checkedLayout(GptConfig cfg, FloatBuffer params) {
        ParameterLayout layout = ParameterLayout.of(cfg);
        if (params.remaining() < layout.size()) {
            throw new IllegalArgumentException("expected " + layout.size() + " parameters, got " + params.remaining());
        }
        return layout;
    }

    /**
     * Every parameter as an initializer of {@code graph}, by name: its slice of {@code params},
     * or what {@code data} makes of that slice.
     */
    static Map<String, Tensor> initializers(Graph graph, ParameterLayout layout, FloatBuffer params,
                                            java.util.function.BiFunction<ParameterLayout.View, FloatBuffer, FloatBuffer> data) {
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (ParameterLayout.View v : layout.views()) {
            FloatBuffer slice = params.duplicate();
            slice.position(params.position() + (int) v.offset());
            weights.put(v.name(), graph.initializer(v.name(), TensorData.ofFloats(data.apply(v, slice), v.shape())));
        }
        return weights;
    }

    /**
     * The additive attention bias [B, 1, S, K] (K = P + S): 0 where new token s may attend to
     * position j (the mask holds 1 there and j is not after s's own place P + s), -inf elsewhere.
     */
    private static Tensor attentionBias(Graph graph, GptConfig cfg, Tensor ids, Tensor mask) {
        Tensor seq = ids.shapeOf().slice(new long[] {1}, new long[] {2}, new long[] {0});      // [1] = S
        Tensor total = mask.shapeOf().slice(new long[] {1}, new long[] {2}, new long[] {0});   // [1] = K
        Tensor pastLength = total.sub(seq);                                                    // [1] = P
        // Rows P..P+S-1 and columns 0..K-1 of the block_size causal bias.
        Tensor causal = GptForward.causalMask(graph, cfg.blockSize(), DType.FLOAT)            // [block, block]
                .apply("Slice", Map.of(),
                        graph.concat(0, List.of(pastLength, graph.longs(0))),
                        graph.concat(0, List.of(total, total)),
                        graph.longs(0, 1));                                                     // [S, K]
        Tensor padding = graph.scalar(DType.FLOAT, Double.NEGATIVE_INFINITY)
                .where(mask.apply("Equal", Map.of(), graph.constant(TensorData.ofLongs(new long[] {0}))),
                        graph.scalar(DType.FLOAT, 0))                                          // [B, K]
                .unsqueeze(1, 2);                                                              // [B, 1, 1, K]
        return padding.add(causal);                                                            // [B, 1, S, K]
    }
}
