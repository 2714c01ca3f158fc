package io.troupe.model.seq2seq;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

/**
 * The two inference graphs of cached decoding. The encoder graph runs once per input and gives,
 * for every decoder layer, the cross-attention keys and values of the encoder output and the
 * source padding bias, so no decoder step projects the source again. The step graph
 * ({@link Seq2SeqStepGraph}) feeds one new target token per row at position P and attends to the
 * self-attention keys and values of the P earlier tokens and to the cached cross keys and values;
 * it returns the next token's logits and the new token's keys and values, which the caller
 * stores at position P of its past for the next step.
 *
 * <p>Every step has the same shapes: the past always holds {@code maxTarget} positions, of which
 * the first P are real and the rest masked (the {@value #POSITION} input says P), so ORT plans
 * and allocates one shape per batch size, and the caller can bind the same input and output
 * buffers for every step of a decode.
 *
 * <p>Names and layouts (NH heads, HS head size, S source length, T = maxTarget, C = NH * HS):
 * {@value Seq2SeqGraphs#SRC} and {@value Seq2SeqGraphs#SRC_LENGTHS} in; out of the encoder
 * {@code cross.N.key} [B, NH, HS, S] (keys transposed for the score product), {@code cross.N.value}
 * [B, NH, S, HS] and {@value #CROSS_BIAS} [B, 1, 1, S] (0 on real source tokens, -inf on padding).
 * The step reads {@value Seq2SeqGraphs#TGT_IN} int64 [B], {@value #POSITION} int64 [1], the cross
 * tensors and the bias of one source (batch 1, broadcast over the step's B rows, so beams share one
 * copy), and the past in the cross tensors' layouts, {@code past_key_values.N.key} [B, NH, HS, T]
 * (transposed) and {@code past_key_values.N.value} [B, NH, T, HS]; it writes
 * {@value Seq2SeqGraphs#LOGITS} [B, V] and {@code new_key_values.N.key/value} [B, C] (C = NH * HS,
 * head-major), which the caller stores at position P.
 */
public final class Seq2SeqCacheGraphs {
    /** Encoder output and step input: the additive source padding bias [B, 1, 1, S]. */
    public static final String CROSS_BIAS = "cross_bias";
    /** Step input: int64 [1], the new token's position P (the number of earlier tokens). */
    public static final String POSITION = "position";

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

    /** Step input: self-attention keys of the earlier tokens, transposed, [B, NH, HS, T]; positions from P on are ignored. */
    public static String pastKey(int layer) {
        return "past_key_values." + layer + ".key";
    }

    /** Step input: self-attention values of the earlier tokens, [B, NH, T, HS]; positions from P on are ignored. */
    public static String pastValue(int layer) {
        return "past_key_values." + layer + ".value";
    }

    /** Step output: the new token's self-attention keys, [B, C], to store at position P. */
    public static String newKey(int layer) {
        return "new_key_values." + layer + ".key";
    }

    /** Step output: the new token's self-attention values, [B, C], to store at position P. */
    public static String newValue(int layer) {
        return "new_key_values." + layer + ".value";
    }

    /** The encoder graph: source to every decoder layer's cross-attention keys and values, and the padding bias. */
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
        graph.output(CROSS_BIAS, bias);                                                        // [B, 1, 1, S]
        return graph;
    }

    /** The decoder step graph: one new token per row over a fixed-size past and the cached cross keys/values. */
    public static Graph step(Seq2SeqConfig cfg, FloatBuffer params) {
        return Seq2SeqStepGraph.build(cfg, params);
    }
}
