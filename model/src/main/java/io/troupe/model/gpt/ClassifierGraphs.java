package io.troupe.model.gpt;

import io.troupe.model.graph.Autodiff;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Graphs of a model with a classification head ({@link ClassifierHead}): a {@link Backbone}'s
 * hidden states (a GPT's, {@link GptForward#hidden}, or a BERT-style encoder's), a pooled [B, C]
 * summary and a linear layer to K class logits.
 *
 * <p>Batches are right-padded: row b holds {@code lengths[b]} real tokens, then padding. Under
 * the causal mask a real position only attends to positions at or before it, all of them real,
 * and an encoder masks padded keys out with its own bias, so padding never reaches a real token's
 * hidden state; pooling then reads only real positions
 * (the last one, or the mean of positions {@code < length}). A padded batch therefore gives the
 * same logits as each example run alone, unpadded (ClassifierGraphsTest checks it).
 *
 * <p>Training and evaluation graphs declare only the {@link Trainable trainable} parameters as
 * inputs; the others are initializers. Inputs: {@value TrainingGraph#TOKENS} int64 [B, T],
 * {@value #LENGTHS} int64 [B] (1..T), {@value #LABELS} int64 [B]; outputs:
 * {@value TrainingGraph#LOSS} (mean cross-entropy), {@code grad.<name>} per trainable parameter
 * (training only) and {@value #CLASS_LOGITS} [B, K] (evaluation only).
 */
public final class ClassifierGraphs {
    /** Names of the head's parameters start with this. */
    public static final String HEAD_PREFIX = "cls.";
    /** int64 [B]: the number of real (non-pad) tokens in each row. */
    public static final String LENGTHS = "lengths";
    /** int64 [B]: each row's class index. */
    public static final String LABELS = "labels";
    /** [B, K] class scores before softmax. */
    public static final String CLASS_LOGITS = "class_logits";

    private ClassifierGraphs() {
    }

    /** The classifier's layout adapted by {@code lora}: {@link #layout(Backbone, ClassifierHead)}, then A and B. */
    public static ParameterLayout layout(Backbone cfg, ClassifierHead head, LoraConfig lora) {
        return lora == null ? layout(cfg, head) : lora.extend(layout(cfg, head), cfg);
    }

    /** The GPT's parameters followed by {@code cls.weight [C, K]} and {@code cls.bias [K]}. */
    public static ParameterLayout layout(Backbone cfg, ClassifierHead head) {
        ParameterLayout.Builder b = new ParameterLayout.Builder();
        for (ParameterLayout.View v : cfg.layout().views()) {
            b.add(v.name(), v.decay(), v.shape());
        }
        b.add(HEAD_PREFIX + "weight", true, cfg.nEmbd(), head.classes());
        b.add(HEAD_PREFIX + "bias", false, head.classes());
        return b.build();
    }

    /**
     * The training graph: loss and the gradient of every trainable parameter.
     *
     * @param trainable a selection over {@link #layout(Backbone, ClassifierHead, LoraConfig)}
     * @param fullValues every parameter's value (the frozen ones are baked in); null if all train
     * @param lora the LoRA adaptation whose A and B are in the layout, or null
     */
    public static TrainingGraph training(Backbone cfg, ClassifierHead head, int batch, int seqLen, DType dtype,
                                         long dropoutSeed, Trainable trainable, float[] fullValues,
                                         LoraConfig lora) {
        return build(cfg, head, batch, seqLen, dtype, true, cfg.dropout(), dropoutSeed, trainable, fullValues, lora);
    }

    /** Loss and class logits, no dropout, no gradients; batch may be any size (symbolic B). */
    public static TrainingGraph evaluation(Backbone cfg, ClassifierHead head, int seqLen, DType dtype,
                                           Trainable trainable, float[] fullValues, LoraConfig lora) {
        return build(cfg, head, -1, seqLen, dtype, false, 0, 0, trainable, fullValues, lora);
    }

    private static TrainingGraph build(Backbone cfg, ClassifierHead head, int batch, int seqLen, DType dtype,
                                       boolean withGradients, double dropout, long dropoutSeed,
                                       Trainable trainable, float[] fullValues, LoraConfig lora) {
        GptForward.checkDtype(dtype);
        if (seqLen < 1 || seqLen > cfg.blockSize()) {
            throw new IllegalArgumentException("sequence length must be in [1, block_size=" + cfg.blockSize()
                    + "], got " + seqLen);
        }
        requirePoolingFits(cfg, head);
        ParameterLayout layout = layout(cfg, head, lora);
        if (trainable.full().size() != layout.size()) {
            throw new IllegalArgumentException("the trainable selection belongs to another model");
        }
        Graph graph = new Graph(withGradients ? "classifier_train" : "classifier_eval");
        Map<String, Tensor> params = trainable.declare(graph, dtype, fullValues);
        Shape rows = batch > 0 ? Shape.of(batch) : Shape.mixed("batch");
        Shape tokens = batch > 0 ? Shape.of(batch, seqLen) : Shape.mixed("batch", seqLen);
        Tensor idx = graph.input(TrainingGraph.TOKENS, DType.INT64, tokens);
        Tensor lengths = graph.input(LENGTHS, DType.INT64, rows);
        Tensor labels = graph.input(LABELS, DType.INT64, rows);
        long[] steps = new long[seqLen];
        for (int i = 0; i < seqLen; i++) {
            steps[i] = i;
        }
        Tensor stepIds = graph.constant(TensorData.ofLongs(steps, 1, seqLen));         // [1, T]
        LinearAdapter adapter = lora == null ? LinearAdapter.NONE
                : lora.adapter(graph, params, withGradients ? lora.dropout() : 0, dropoutSeed);
        Tensor hidden = cfg.hidden(graph, params, idx, stepIds, lengths, dtype, dropout, dropoutSeed, adapter); // [B, T, C]
        Tensor logits = classify(graph, params, head, hidden, stepIds, lengths, dtype);             // [B, K]
        Tensor loss;
        try (Graph.Scope s = graph.scope("loss")) {
            loss = logits.softmaxCrossEntropy(labels);                                 // []
        }
        graph.output(TrainingGraph.LOSS, loss);
        if (withGradients) {
            List<Tensor> trained = new ArrayList<>();
            for (ParameterLayout.View v : trainable.layout().views()) {
                trained.add(params.get(v.name()));
            }
            List<Tensor> grads = Autodiff.gradients(loss, trained);
            for (int i = 0; i < trained.size(); i++) {
                graph.output(TrainingGraph.gradientName(trained.get(i).name()), grads.get(i));
            }
        } else {
            graph.output(CLASS_LOGITS, logits);
        }
        return new TrainingGraph(graph, trainable.layout(), cfg, Math.max(batch, 0), seqLen, withGradients);
    }

    /** A causal GPT's position 0 has seen only the first token, so [CLS] pooling is refused for it. */
    private static void requirePoolingFits(Backbone cfg, ClassifierHead head) {
        if (cfg instanceof GptConfig && head.pooling() == Pooling.CLS) {
            throw new IllegalArgumentException("--pooling cls reads position 0, which a causal GPT computes from the"
                    + " first token alone; use last or mean");
        }
    }

    /**
     * Pools {@code hidden} over each row's real positions and applies the head.
     *
     * @param stepIds int64 [1, T]: 0 .. T-1
     * @param lengths int64 [B]
     * @return [B, K]
     */
    public static Tensor classify(Graph graph, Map<String, Tensor> params, ClassifierHead head, Tensor hidden,
                                   Tensor stepIds, Tensor lengths, DType dtype) {
        try (Graph.Scope s = graph.scope("cls")) {
            Tensor len = lengths.unsqueeze(1);                                         // [B, 1]
            Tensor weights;                                                            // [B, T]
            if (head.pooling() == Pooling.LAST) {
                Tensor last = len.sub(graph.longs(1));                                 // [B, 1]
                weights = stepIds.apply("Equal", Map.of(), last).cast(dtype);          // [B, T] one-hot
            } else if (head.pooling() == Pooling.CLS) {
                weights = stepIds.apply("Equal", Map.of(), graph.longs(0)).cast(dtype); // [1, T] one-hot at 0
            } else {
                Tensor real = stepIds.apply("Less", Map.of(), len).cast(dtype);       // [B, T] 1 for real tokens
                weights = real.div(len.cast(dtype));                                   // [B, T] 1/length each
            }
            Tensor pooled = weights.unsqueeze(1).matMul(hidden)                        // [B, 1, C]
                    .squeeze(1);                                                       // [B, C]
            return pooled.matMul(params.get(HEAD_PREFIX + "weight"))                  // [B, K]
                    .add(params.get(HEAD_PREFIX + "bias"));                           // [B, K]
        }
    }

    /**
     * The self-contained inference graph: {@value GptGraphs#INPUT_IDS} int64 [batch, seq] (right-
     * padded) and {@value #LENGTHS} int64 [batch] to {@value #CLASS_LOGITS} float [batch, K],
     * weights as initializers; any seq up to block_size.
     *
     * @param params the flat float32 parameters, laid out as {@link #layout}
     */
    public static Graph inference(Backbone cfg, ClassifierHead head, FloatBuffer params) {
        requirePoolingFits(cfg, head);
        ParameterLayout layout = layout(cfg, head);
        if (params.remaining() < layout.size()) {
            throw new IllegalArgumentException("expected " + layout.size() + " parameters, got " + params.remaining());
        }
        Graph graph = new Graph(cfg instanceof GptConfig ? "gpt_classifier" : "encoder_classifier");
        Tensor ids = graph.input(GptGraphs.INPUT_IDS, DType.INT64, Shape.mixed("batch", "seq"));
        Tensor lengths = graph.input(LENGTHS, DType.INT64, Shape.mixed("batch"));
        Map<String, Tensor> weights = new java.util.LinkedHashMap<>();
        for (ParameterLayout.View v : layout.views()) {
            FloatBuffer slice = params.duplicate();
            slice.position(params.position() + (int) v.offset());
            weights.put(v.name(), graph.initializer(v.name(), TensorData.ofFloats(slice, v.shape())));
        }
        // Positions, the causal mask and the position ids are cut to the runtime sequence length.
        Tensor seq = ids.shapeOf().slice(new long[] {1}, new long[] {2}, new long[] {0});     // [1]
        long[] steps = new long[cfg.blockSize()];
        for (int i = 0; i < steps.length; i++) {
            steps[i] = i;
        }
        Tensor stepIds = graph.constant(TensorData.ofLongs(steps, 1, steps.length))
                .apply("Slice", Map.of(), graph.longs(0), seq, graph.longs(1));              // [1, T]
        Tensor hidden;                                                                        // [B, T, C]
        if (cfg instanceof GptConfig gpt) {
            Tensor zero = graph.longs(0);
            Tensor positions = weights.get("wpe").apply("Slice", Map.of(), zero, seq, zero);  // [T, C]
            Tensor fullMask = GptForward.causalMask(graph, gpt.blockSize(), DType.FLOAT);     // [block, block]
            Tensor mask = fullMask.apply("Slice", Map.of(), graph.longs(0, 0),
                    seq.apply("Concat", Map.of("axis", 0L), seq), graph.longs(0, 1));     // [T, T]
            hidden = new GptForward(graph, gpt, weights, 0, 0).hidden(ids, positions, mask);
        } else {
            hidden = cfg.hidden(graph, weights, ids, stepIds, lengths, DType.FLOAT, 0, 0, LinearAdapter.NONE);
        }
        graph.output(CLASS_LOGITS, classify(graph, weights, head, hidden, stepIds, lengths, DType.FLOAT));
        return graph;
    }
}
