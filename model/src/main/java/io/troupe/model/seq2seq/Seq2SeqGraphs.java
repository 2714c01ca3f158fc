package io.troupe.model.seq2seq;

import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.Autodiff;
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
 * Builds the encoder-decoder graphs: training (loss and every parameter's gradient), evaluation
 * (loss, unsmoothed token NLL and the target token count) and the two float inference graphs that
 * decoding runs: the encoder once per input, then the decoder per step over the encoder output.
 *
 * <p>Training and evaluation read the parameters as inputs named as in {@link Seq2SeqLayout}, and
 * {@value #SRC} int64 [B, S] (right-padded source), {@value #SRC_LENGTHS} int64 [B] (real source
 * tokens, at least 1), {@value #TGT_IN} int64 [B, T] (BOS then the target, right-padded) and
 * {@value #TARGETS} int64 [B, T] (the target then EOS, {@value #IGNORE} on padding). The loss is
 * the label-smoothed cross-entropy averaged over the real target tokens.
 */
public final class Seq2SeqGraphs {
    /** The target of a padded position. */
    public static final long IGNORE = -100;
    public static final String SRC = "src";
    public static final String SRC_LENGTHS = "src_lengths";
    public static final String TGT_IN = "tgt_in";
    public static final String TARGETS = "targets";
    public static final String LOSS = "loss";
    /** Evaluation output: summed unsmoothed negative log-likelihood of the real target tokens. */
    public static final String NLL_SUM = "nll_sum";
    /** Evaluation output: the number of real target tokens. */
    public static final String TOKEN_COUNT = "token_count";
    /** Encoder inference output / decoder inference input: float [batch, src_seq, C]. */
    public static final String MEMORY = "memory";
    /** Decoder inference output: float [batch, tgt_seq, V]. */
    public static final String LOGITS = "logits";

    /** A training or evaluation graph and the layout of its parameter inputs. */
    public record Built(Graph graph, ParameterLayout layout, Seq2SeqConfig config, int batch, int srcLen, int tgtLen,
                        boolean hasGradients) {
        /** Serialized ONNX model. */
        public byte[] toBytes() {
            return graph.toBytes();
        }
    }

    private Seq2SeqGraphs() {
    }

    /** The output name holding the gradient of {@code param}. */
    public static String gradientName(String param) {
        return "grad." + param;
    }

    /** The training graph: label-smoothed loss and gradients, the config's dropout. */
    public static Built training(Seq2SeqConfig cfg, int batch, int srcLen, int tgtLen, DType dtype, long dropoutSeed) {
        return build(cfg, batch, srcLen, tgtLen, dtype, true, cfg.dropout(), dropoutSeed);
    }

    /** The evaluation graph: loss, {@value #NLL_SUM} and {@value #TOKEN_COUNT}, no dropout. */
    public static Built evaluation(Seq2SeqConfig cfg, int batch, int srcLen, int tgtLen, DType dtype) {
        return build(cfg, batch, srcLen, tgtLen, dtype, false, 0, 0);
    }

    private static Built build(Seq2SeqConfig cfg, int batch, int srcLen, int tgtLen, DType dtype,
                               boolean withGradients, double dropout, long dropoutSeed) {
        if (dtype != DType.FLOAT && dtype != DType.DOUBLE) {
            throw new IllegalArgumentException("seq2seq graphs are built in float or double, not " + dtype.onnxName());
        }
        if (batch < 1 || srcLen < 1 || srcLen > cfg.maxSource() || tgtLen < 1 || tgtLen > cfg.maxTarget()) {
            throw new IllegalArgumentException("batch " + batch + ", source " + srcLen + " (max " + cfg.maxSource()
                    + ") and target " + tgtLen + " (max " + cfg.maxTarget() + ") lengths must be positive and fit");
        }
        ParameterLayout layout = cfg.layout();
        Graph graph = new Graph(withGradients ? "seq2seq_train" : "seq2seq_eval");
        Map<String, Tensor> params = new LinkedHashMap<>();
        List<Tensor> paramList = new ArrayList<>();
        for (ParameterLayout.View v : layout.views()) {
            Tensor t = graph.input(v.name(), dtype, Shape.of(v.shape()));
            params.put(v.name(), t);
            paramList.add(t);
        }
        Tensor src = graph.input(SRC, DType.INT64, Shape.of(batch, srcLen));
        Tensor srcLengths = graph.input(SRC_LENGTHS, DType.INT64, Shape.of(batch));
        Tensor tgtIn = graph.input(TGT_IN, DType.INT64, Shape.of(batch, tgtLen));
        Tensor targets = graph.input(TARGETS, DType.INT64, Shape.of(batch, tgtLen));
        Seq2SeqForward forward = new Seq2SeqForward(graph, cfg, params, dropout, dropoutSeed);
        Tensor srcSteps = Seq2SeqForward.steps(graph, srcLen);                               // [1, S]
        Tensor bias = Seq2SeqForward.sourceBias(srcSteps, srcLengths, dtype);                // [B, 1, 1, S]
        Tensor memory = forward.encode(src, srcSteps, bias);                                 // [B, S, C]
        Tensor logits = forward.decode(tgtIn, Seq2SeqForward.steps(graph, tgtLen), memory, bias,
                Seq2SeqForward.causalBias(graph, tgtLen, dtype)).reshape(-1, cfg.vocabSize()); // [B*T, V]
        Tensor flat = targets.reshape(-1);                                                   // [B*T]
        Tensor loss;
        Tensor nll;
        Tensor valid;
        try (Graph.Scope s = graph.scope("loss")) {
            nll = graph.applyMulti("SoftmaxCrossEntropyLoss", List.of(logits, flat),
                    Map.of("reduction", "mean", "ignore_index", IGNORE), 2).get(0);          // []
            Tensor isValid = graph.apply("Not", List.of(flat.apply("Equal", Map.of(),
                    graph.constant(TensorData.ofLongs(new long[] {IGNORE})))), Map.of());     // [B*T] bool
            valid = isValid.cast(dtype);                                                     // [B*T]
            loss = nll;
            if (cfg.labelSmoothing() > 0) {
                // Against q = (1 - eps) onehot(y) + eps / V, each row's loss is
                // CE(z, y) + eps * (z_y - mean_v z): no log-softmax of every class is needed.
                Tensor safe = flat.where(isValid, graph.constant(TensorData.ofLongs(new long[] {0}))); // [B*T]
                long[] ids = new long[cfg.vocabSize()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i;
                }
                Tensor oneHot = safe.unsqueeze(1).apply("Equal", Map.of(),
                        graph.constant(TensorData.ofLongs(ids, ids.length))).cast(dtype);   // [B*T, V]
                Tensor zy = logits.mul(oneHot).reduceSum(false, 1);                        // [B*T]
                Tensor zMean = logits.reduceMean(false, 1);                                 // [B*T]
                Tensor gap = zy.sub(zMean).mul(valid).reduceSum(false).div(valid.reduceSum(false)); // []
                loss = nll.add(gap.mul(cfg.labelSmoothing()));
            }
        }
        graph.output(LOSS, loss);
        if (withGradients) {
            List<Tensor> grads = Autodiff.gradients(loss, paramList);
            for (int i = 0; i < paramList.size(); i++) {
                graph.output(gradientName(paramList.get(i).name()), grads.get(i));
            }
        } else {
            Tensor count = valid.reduceSum(false);
            graph.output(NLL_SUM, nll.mul(count));
            graph.output(TOKEN_COUNT, count);
        }
        return new Built(graph, layout, cfg, batch, srcLen, tgtLen, withGradients);
    }

    /**
     * The encoder inference graph: {@value #SRC} int64 [batch, src_seq] and {@value #SRC_LENGTHS}
     * int64 [batch] to {@value #MEMORY} float [batch, src_seq, C]. Decoding runs it once per input.
     */
    public static Graph encoderInference(Seq2SeqConfig cfg, FloatBuffer params) {
        Graph graph = new Graph("seq2seq_encoder");
        Map<String, Tensor> weights = initializers(graph, cfg, params);
        Tensor src = graph.input(SRC, DType.INT64, Shape.mixed("batch", "src_seq"));
        Tensor srcLengths = graph.input(SRC_LENGTHS, DType.INT64, Shape.mixed("batch"));
        Tensor srcSteps = dynamicSteps(graph, src, cfg.maxSource());                        // [1, S]
        Tensor bias = Seq2SeqForward.sourceBias(srcSteps, srcLengths, DType.FLOAT);          // [B, 1, 1, S]
        Seq2SeqForward forward = new Seq2SeqForward(graph, cfg, weights, 0, 0);
        graph.output(MEMORY, forward.encode(src, srcSteps, bias));                          // [B, S, C]
        return graph;
    }

    /**
     * The decoder inference graph: {@value #MEMORY} float [batch, src_seq, C], {@value #SRC_LENGTHS}
     * int64 [batch] and {@value #TGT_IN} int64 [batch, tgt_seq] to {@value #LOGITS} float
     * [batch, tgt_seq, V]. Causal, so the last position's logits predict the next token.
     */
    public static Graph decoderInference(Seq2SeqConfig cfg, FloatBuffer params) {
        Graph graph = new Graph("seq2seq_decoder");
        Map<String, Tensor> weights = initializers(graph, cfg, params);
        Tensor memory = graph.input(MEMORY, DType.FLOAT, Shape.mixed("batch", "src_seq", cfg.nEmbd()));
        Tensor srcLengths = graph.input(SRC_LENGTHS, DType.INT64, Shape.mixed("batch"));
        Tensor tgtIn = graph.input(TGT_IN, DType.INT64, Shape.mixed("batch", "tgt_seq"));
        Tensor srcSteps = dynamicSteps(graph, memory, cfg.maxSource());                     // [1, S]
        Tensor tgtSteps = dynamicSteps(graph, tgtIn, cfg.maxTarget());                      // [1, T]
        Tensor t = tgtIn.shapeOf().slice(new long[] {1}, new long[] {2}, new long[] {0});   // [1]
        Tensor zeros = graph.longs(0, 0);
        Tensor causal = Seq2SeqForward.causalBias(graph, cfg.maxTarget(), DType.FLOAT)
                .apply("Slice", Map.of(), zeros, graph.concat(0, List.of(t, t)),
                        graph.longs(0, 1));                                                  // [T, T]
        Tensor bias = Seq2SeqForward.sourceBias(srcSteps, srcLengths, DType.FLOAT);          // [B, 1, 1, S]
        Seq2SeqForward forward = new Seq2SeqForward(graph, cfg, weights, 0, 0);
        graph.output(LOGITS, forward.decode(tgtIn, tgtSteps, memory, bias, causal));        // [B, T, V]
        return graph;
    }

    static Map<String, Tensor> initializers(Graph graph, Seq2SeqConfig cfg, FloatBuffer params) {
        ParameterLayout layout = cfg.layout();
        if (params.remaining() < layout.size()) {
            throw new IllegalArgumentException("expected " + layout.size() + " parameters, got " + params.remaining());
        }
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (ParameterLayout.View v : layout.views()) {
            FloatBuffer slice = params.duplicate();
            slice.position(params.position() + (int) v.offset());
            weights.put(v.name(), graph.initializer(v.name(), TensorData.ofFloats(slice, v.shape())));
        }
        return weights;
    }

    private static Tensor dynamicSteps(Graph graph, Tensor x, int max) {
        return dynamicSteps(graph, x, 1, max);
    }

    /** int64 [1, n] = 0 .. n-1 where n is axis {@code axis} of {@code x}, cut from a constant of {@code max}. */
    static Tensor dynamicSteps(Graph graph, Tensor x, int axis, int max) {
        Tensor n = x.shapeOf().slice(new long[] {axis}, new long[] {axis + 1}, new long[] {0}); // [1]
        return Seq2SeqForward.steps(graph, max).apply("Slice", Map.of(), graph.longs(0), n, graph.longs(1)); // [1, n]
    }
}
