package io.troupe.model.seq2seq;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The two inference graphs of cached decoding. The encoder graph runs once per input and gives,
 * for every decoder layer, the cross-attention keys and values of the encoder output, so no
 * decoder step projects the source again. The step graph feeds one new target token per row and
 * attends to the self-attention keys and values of the earlier tokens (past, in) and to the cached
 * cross keys and values; it returns the next token's logits and the past with the new token
 * appended (present, out). All rows of a step hold the same number of earlier tokens P (greedy,
 * beam and sampling all step their rows together), so the step needs no self-attention mask.
 *
 * <p>Names and layouts (NH heads, HS head size, S source length): {@value Seq2SeqGraphs#SRC} and
 * {@value Seq2SeqGraphs#SRC_LENGTHS} in and {@code cross.N.key} [B, NH, HS, S] (keys transposed
 * for the score product), {@code cross.N.value} [B, NH, S, HS] out of the encoder; the step reads
 * {@value Seq2SeqGraphs#TGT_IN} int64 [B, 1], {@value Seq2SeqGraphs#SRC_LENGTHS}, the cross tensors
 * and {@code past_key_values.N.key/value} [B, NH, P, HS], and writes {@value Seq2SeqGraphs#LOGITS}
 * [B, 1, V] and {@code present.N.key/value} [B, NH, P + 1, HS]. The first step's past is empty (P = 0).
 */
public final class Seq2SeqCacheGraphs {
    private Seq2SeqCacheGraphs() {
    }

    /** Encoder output: cross-attention keys of decoder layer {@code layer}, [B, NH, HS, S]. */
    public static String crossKey(int layer) {
        return "cross." + layer + ".key";
    }

    /** Encoder output: cross-attention values of decoder layer {@code layer}, [B, NH, S, HS]. */
    public static String crossValue(int layer) {
        return "cross." + layer + ".value";
    }

    /** Step input: self-attention keys of the earlier tokens, [B, NH, P, HS]. */
    public static String pastKey(int layer) {
        return "past_key_values." + layer + ".key";
    }

    /** Step input: self-attention values of the earlier tokens, [B, NH, P, HS]. */
    public static String pastValue(int layer) {
        return "past_key_values." + layer + ".value";
    }

    /** Step output: the past keys with the new token's appended, [B, NH, P + 1, HS]. */
    public static String presentKey(int layer) {
        return "present." + layer + ".key";
    }

    /** Step output: the past values with the new token's appended, [B, NH, P + 1, HS]. */
    public static String presentValue(int layer) {
        return "present." + layer + ".value";
    }

    /** The encoder graph: source to every decoder layer's cross-attention keys and values. */
    public static Graph encoder(Seq2SeqConfig cfg, FloatBuffer params) {
        Graph graph = new Graph("seq2seq_cache_encoder");
        Map<String, Tensor> weights = Seq2SeqGraphs.initializers(graph, cfg, params);
        Tensor src = graph.input(Seq2SeqGraphs.SRC, DType.INT64, Shape.mixed("batch", "src_seq"));
        Tensor srcLengths = graph.input(Seq2SeqGraphs.SRC_LENGTHS, DType.INT64, Shape.mixed("batch"));
        Tensor srcSteps = Seq2SeqGraphs.dynamicSteps(graph, src, 1, cfg.maxSource());           // [1, S]
        Tensor bias = Seq2SeqForward.sourceBias(srcSteps, srcLengths, DType.FLOAT);            // [B, 1, 1, S]
        Seq2SeqForward forward = new Seq2SeqForward(graph, cfg, weights, 0, 0);
        Tensor memory = forward.encode(src, srcSteps, bias);                                   // [B, S, C]
        List<Tensor[]> cross = forward.crossKeysValues(memory);
        for (int layer = 0; layer < cross.size(); layer++) {
            graph.output(crossKey(layer), cross.get(layer)[0]);                                // [B, NH, HS, S]
            graph.output(crossValue(layer), cross.get(layer)[1]);                              // [B, NH, S, HS]
        }
        return graph;
    }

    /** The decoder step graph: one new token per row over the cached past and cross keys/values. */
    public static Graph step(Seq2SeqConfig cfg, FloatBuffer params) {
        Graph graph = new Graph("seq2seq_cache_step");
        Map<String, Tensor> weights = Seq2SeqGraphs.initializers(graph, cfg, params);
        int nh = cfg.nHead();
        int hs = cfg.nEmbd() / nh;
        Tensor tgtIn = graph.input(Seq2SeqGraphs.TGT_IN, DType.INT64, Shape.mixed("batch", 1));
        Tensor srcLengths = graph.input(Seq2SeqGraphs.SRC_LENGTHS, DType.INT64, Shape.mixed("batch"));
        List<Tensor[]> cross = new ArrayList<>();
        List<Tensor[]> past = new ArrayList<>();
        for (int layer = 0; layer < cfg.decoderLayers(); layer++) {
            cross.add(new Tensor[] {
                graph.input(crossKey(layer), DType.FLOAT, Shape.mixed("batch", nh, hs, "src_seq")),
                graph.input(crossValue(layer), DType.FLOAT, Shape.mixed("batch", nh, "src_seq", hs))});
            past.add(new Tensor[] {
                graph.input(pastKey(layer), DType.FLOAT, Shape.mixed("batch", nh, "past_seq", hs)),
                graph.input(pastValue(layer), DType.FLOAT, Shape.mixed("batch", nh, "past_seq", hs))});
        }
        Tensor srcSteps = Seq2SeqGraphs.dynamicSteps(graph, cross.get(0)[1], 2, cfg.maxSource()); // [1, S]
        Tensor bias = Seq2SeqForward.sourceBias(srcSteps, srcLengths, DType.FLOAT);               // [B, 1, 1, S]
        Tensor p = past.get(0)[0].shapeOf().slice(new long[] {2}, new long[] {3}, new long[] {0}); // [1] = P
        Tensor position = p.reshape(1, 1);                                                        // [1, 1]
        Seq2SeqForward forward = new Seq2SeqForward(graph, cfg, weights, 0, 0);
        List<String[]> presentNames = new ArrayList<>();
        for (int layer = 0; layer < cfg.decoderLayers(); layer++) {
            presentNames.add(new String[] {presentKey(layer), presentValue(layer)});
        }
        Seq2SeqForward.Step out = forward.decodeStep(tgtIn, position, past, cross, bias, presentNames);
        graph.output(Seq2SeqGraphs.LOGITS, out.logits());                                         // [B, 1, V]
        for (int layer = 0; layer < cfg.decoderLayers(); layer++) {
            graph.output(presentKey(layer), out.present().get(layer)[0]);                        // [B, NH, P+1, HS]
            graph.output(presentValue(layer), out.present().get(layer)[1]);
        }
        return graph;
    }
}
