package io.troupe.model.bert;

import io.troupe.model.gpt.LinearAdapter;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Trainable;
import io.troupe.model.gpt.TrainingGraph;
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
 * Builds the encoder's graphs: masked-language-model training and evaluation (the one step
 * path's contract, {@link TrainingGraph}) and the self-contained inference graphs (hidden states
 * for {@code embed}, MLM logits for {@code fill-mask} and pseudo-log-likelihood scoring).
 *
 * <p>MLM graphs read {@value TrainingGraph#TOKENS} int64 [B, T] (the corrupted input) and
 * {@value TrainingGraph#TARGETS} int64 [B, T]: the original token at masked positions,
 * {@value #IGNORE} elsewhere; the loss is the mean cross-entropy over masked positions.
 */
public final class EncoderGraphs {
    /** The target of a position that is not predicted. */
    public static final long IGNORE = -100;
    /** Inference input: int64 [batch, seq], right-padded. */
    public static final String INPUT_IDS = "input_ids";
    /** Inference input: int64 [batch], real tokens per row. */
    public static final String LENGTHS = "lengths";
    /** Inference output: float [batch, seq, C]. */
    public static final String HIDDEN = "last_hidden_state";
    /** Inference output: float [batch, seq, V]. */
    public static final String LOGITS = "logits";
    /** Evaluation output: the number of masked positions whose top prediction is the target. */
    public static final String MASKED_CORRECT = "masked_correct";
    /** Evaluation output: the number of masked positions. */
    public static final String MASKED_COUNT = "masked_count";

    private EncoderGraphs() {
    }

    /** The MLM training graph over every parameter: loss and gradients, dropout as configured. */
    public static TrainingGraph mlmTraining(EncoderConfig cfg, int batch, int seqLen, DType dtype, long dropoutSeed) {
        return mlm(cfg, batch, seqLen, dtype, true, cfg.dropout(), dropoutSeed, 0);
    }

    /**
     * The MLM training graph whose loss is the sum of the masked positions' cross-entropies over
     * {@code batch * maskedPerRow}, the expected number of masked positions, instead of over the
     * actual number. Its loss and gradients are then sums over rows divided by the row count, as a
     * GPT's are, so the one step path's row weighting (lanes, accumulation micro-steps, workers)
     * gives exactly the gradient of the whole global batch however the rows are split; a mean over
     * each share's own masked count would weight the shares' positions unequally.
     *
     * @param maskedPerRow the expected masked positions per row, e.g. 0.15 * (T - 2)
     */
    public static TrainingGraph mlmTraining(EncoderConfig cfg, int batch, int seqLen, DType dtype, long dropoutSeed,
                                            double maskedPerRow) {
        if (!(maskedPerRow > 0)) {
            throw new IllegalArgumentException("masked positions per row must be positive, got " + maskedPerRow);
        }
        return mlm(cfg, batch, seqLen, dtype, true, cfg.dropout(), dropoutSeed, batch * maskedPerRow);
    }

    /**
     * The MLM evaluation graph: loss, {@value #MASKED_CORRECT} and {@value #MASKED_COUNT}
     * (scalars of {@code dtype}), no dropout.
     */
    public static TrainingGraph mlmEvaluation(EncoderConfig cfg, int batch, int seqLen, DType dtype) {
        return mlm(cfg, batch, seqLen, dtype, false, 0, 0, 0);
    }

    /** @param expectedMasked 0: the loss is the mean over masked positions; else the sum over this */
    private static TrainingGraph mlm(EncoderConfig cfg, int batch, int seqLen, DType dtype, boolean withGradients,
                                     double dropout, long dropoutSeed, double expectedMasked) {
        if (!cfg.mlmHead()) {
            throw new IllegalArgumentException("MLM graphs need an encoder with an MLM head");
        }
        if (dtype != DType.FLOAT && dtype != DType.DOUBLE) {
            throw new IllegalArgumentException("encoder graphs are built in float or double, not " + dtype.onnxName());
        }
        if (seqLen < 1 || seqLen > cfg.blockSize()) {
            throw new IllegalArgumentException("sequence length must be in [1, block_size=" + cfg.blockSize()
                    + "], got " + seqLen);
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be positive, got " + batch);
        }
        ParameterLayout layout = cfg.layout();
        Trainable all = Trainable.all(layout);
        Graph graph = new Graph(withGradients ? "bert_mlm_train" : "bert_mlm_eval");
        Map<String, Tensor> params = all.declare(graph, dtype, null);
        Tensor idx = graph.input(TrainingGraph.TOKENS, DType.INT64, Shape.of(batch, seqLen));
        Tensor targets = graph.input(TrainingGraph.TARGETS, DType.INT64, Shape.of(batch, seqLen));
        EncoderForward forward = new EncoderForward(graph, cfg, params, dropout, dropoutSeed);
        Tensor hidden = forward.hidden(idx, EncoderForward.stepIds(graph, seqLen), null, dtype); // [B, T, C]
        Tensor logits = forward.mlmLogits(hidden).reshape(-1, cfg.vocabSize());              // [B*T, V]
        Tensor flatTargets = targets.reshape(-1);                                           // [B*T]
        Tensor loss;
        try (Graph.Scope s = graph.scope("loss")) {
            loss = graph.applyMulti("SoftmaxCrossEntropyLoss", List.of(logits, flatTargets),
                    Map.of("reduction", expectedMasked > 0 ? "sum" : "mean", "ignore_index", IGNORE), 2).get(0); // []
            if (expectedMasked > 0) {
                loss = loss.mul(dtype == DType.FLOAT
                        ? graph.constant(TensorData.ofFloats(new float[] {(float) (1 / expectedMasked)}))
                        : graph.constant(TensorData.ofDoubles(new double[] {1 / expectedMasked})));
            }
        }
        graph.output(TrainingGraph.LOSS, loss);
        if (withGradients) {
            List<Tensor> paramList = new ArrayList<>();
            for (ParameterLayout.View v : layout.views()) {
                paramList.add(params.get(v.name()));
            }
            List<Tensor> grads = Autodiff.gradients(loss, paramList);
            for (int i = 0; i < paramList.size(); i++) {
                graph.output(TrainingGraph.gradientName(paramList.get(i).name()), grads.get(i));
            }
        } else {
            try (Graph.Scope s = graph.scope("accuracy")) {
                Tensor masked = graph.apply("Not", List.of(flatTargets.apply("Equal", Map.of(),
                        graph.constant(TensorData.ofLongs(new long[] {IGNORE})))), Map.of());  // [B*T] bool
                // The target's logit reaches the row maximum: a top-1 hit (ties count as hits).
                long[] ids = new long[cfg.vocabSize()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i;
                }
                Tensor oneHot = flatTargets.unsqueeze(1).apply("Equal", Map.of(),
                        graph.constant(TensorData.ofLongs(ids, ids.length))).cast(dtype);  // [B*T, V]
                Tensor targetLogit = logits.mul(oneHot).reduceSum(true, 1);                // [B*T, 1]
                Tensor best = logits.apply("ReduceMax", Map.of("keepdims", 1L), graph.longs(1)); // [B*T, 1]
                Tensor hit = graph.apply("Not", List.of(targetLogit.apply("Less", Map.of(), best)), Map.of())
                        .squeeze(1);                                                        // [B*T] bool
                Tensor maskedF = masked.cast(dtype);
                graph.output(MASKED_CORRECT, hit.cast(dtype).mul(maskedF).reduceSum(false));
                graph.output(MASKED_COUNT, maskedF.reduceSum(false));
            }
        }
        return new TrainingGraph(graph, layout, cfg, batch, seqLen, withGradients);
    }

    /**
     * The self-contained inference graph: {@value #INPUT_IDS} int64 [batch, seq] (right-padded,
     * seq up to block_size) and {@value #LENGTHS} int64 [batch] to {@value #HIDDEN} float
     * [batch, seq, C], plus {@value #LOGITS} [batch, seq, V] when {@code withLogits} (MLM head needed).
     *
     * @param params the flat float32 parameters, laid out as {@link EncoderLayout#of}
     */
    public static Graph inference(EncoderConfig cfg, FloatBuffer params, boolean withLogits) {
        if (withLogits && !cfg.mlmHead()) {
            throw new IllegalArgumentException("this encoder has no MLM head, so it has no token logits");
        }
        ParameterLayout layout = cfg.layout();
        if (params.remaining() < layout.size()) {
            throw new IllegalArgumentException("expected " + layout.size() + " parameters, got " + params.remaining());
        }
        Graph graph = new Graph("bert");
        Tensor ids = graph.input(INPUT_IDS, DType.INT64, Shape.mixed("batch", "seq"));
        Tensor lengths = graph.input(LENGTHS, DType.INT64, Shape.mixed("batch"));
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (ParameterLayout.View v : layout.views()) {
            FloatBuffer slice = params.duplicate();
            slice.position(params.position() + (int) v.offset());
            weights.put(v.name(), graph.initializer(v.name(), TensorData.ofFloats(slice, v.shape())));
        }
        Tensor seq = ids.shapeOf().slice(new long[] {1}, new long[] {2}, new long[] {0});     // [1]
        Tensor stepIds = EncoderForward.stepIds(graph, cfg.blockSize())
                .apply("Slice", Map.of(), graph.longs(0), seq, graph.longs(1));              // [1, T]
        EncoderForward forward = new EncoderForward(graph, cfg, weights, 0, 0).withAdapter(LinearAdapter.NONE);
        Tensor hidden = forward.hidden(ids, stepIds, lengths, DType.FLOAT);                   // [B, T, C]
        graph.output(HIDDEN, hidden);
        if (withLogits) {
            graph.output(LOGITS, forward.mlmLogits(hidden));                                  // [B, T, V]
        }
        return graph;
    }
}
