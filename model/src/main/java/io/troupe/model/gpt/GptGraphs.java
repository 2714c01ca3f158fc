package io.troupe.model.gpt;

import io.troupe.model.graph.Autodiff;
import io.troupe.model.graph.Bf16ActivationStorage;
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

/** Builds the three GPT graphs: training (loss + gradients), evaluation (loss) and inference (logits). */
public final class GptGraphs {
    /** Input of the inference graph: int64 [batch, seq]. */
    public static final String INPUT_IDS = "input_ids";
    /** Output of the inference graph: float [batch, seq, vocab]. */
    public static final String LOGITS = "logits";
    /**
     * The loss-scale input of a {@link Precision#FP16} training graph: int64 [batch], every
     * element the scale. An int64 [batch] input (not a float scalar) because the step engines
     * take int64 batch inputs and split them by rows over their lanes; every lane reads element 0.
     */
    public static final String LOSS_SCALE = "loss_scale";

    private GptGraphs() {
    }

    /**
     * The training graph: tokens and targets in, mean cross-entropy loss and the gradient of
     * every parameter out, with dropout as configured.
     *
     * @param dropoutSeed seeds ORT's Dropout kernels (each node gets seed + its index)
     */
    public static TrainingGraph training(GptConfig cfg, int batch, int seqLen, DType dtype, long dropoutSeed) {
        return build(cfg, batch, seqLen, dtype, true, cfg.dropout(), dropoutSeed, null, null, null,
                ActivationCheckpointing.NONE);
    }

    /**
     * The training graph with activation checkpointing: {@code checkpointing} says what the
     * backward pass recomputes instead of keeping; the gradients are the same.
     */
    public static TrainingGraph training(GptConfig cfg, int batch, int seqLen, DType dtype, long dropoutSeed,
                                         ActivationCheckpointing checkpointing) {
        return build(cfg, batch, seqLen, dtype, true, cfg.dropout(), dropoutSeed, null, null, null, checkpointing);
    }

    /**
     * The training graph of a partly frozen GPT: only {@code trainable}'s parameters are inputs
     * and have gradient outputs; the frozen ones are initializers holding {@code fullValues}.
     * The graph's {@link TrainingGraph#layout()} is {@code trainable.layout()}.
     *
     * @param lora the LoRA adaptation whose A and B are in {@code trainable.full()}, or null
     */
    public static TrainingGraph training(GptConfig cfg, int batch, int seqLen, DType dtype, long dropoutSeed,
                                         Trainable trainable, float[] fullValues, LoraConfig lora) {
        return training(cfg, batch, seqLen, dtype, dropoutSeed, trainable, fullValues, lora,
                ActivationCheckpointing.NONE);
    }

    /**
     * {@link #training(GptConfig, int, int, DType, long, Trainable, float[], LoraConfig)} with
     * activation checkpointing.
     */
    public static TrainingGraph training(GptConfig cfg, int batch, int seqLen, DType dtype, long dropoutSeed,
                                         Trainable trainable, float[] fullValues, LoraConfig lora,
                                         ActivationCheckpointing checkpointing) {
        return build(cfg, batch, seqLen, dtype, true, cfg.dropout(), dropoutSeed, trainable, fullValues, lora,
                checkpointing);
    }

    /**
     * {@link #training(GptConfig, int, int, DType, long, Trainable, float[], LoraConfig, ActivationCheckpointing)}
     * in {@code precision}. With {@link Precision#FP16} the graph takes one more int64 input,
     * {@value #LOSS_SCALE} [batch] (every element the current loss scale, a whole number >= 1),
     * computes in float16 and returns float32 gradients already divided by the scale; the
     * parameter inputs and the loss output stay float32. With {@link Precision#BF16_STORAGE} the
     * inputs and outputs are those of fp32, and every activation the backward pass reads is kept
     * in bfloat16 ({@link Bf16ActivationStorage}); the caller keeps the parameter values
     * representable in bfloat16. {@link Precision#FP32} builds exactly the graph of the overload
     * without it.
     */
    public static TrainingGraph training(GptConfig cfg, int batch, int seqLen, DType dtype, long dropoutSeed,
                                         Trainable trainable, float[] fullValues, LoraConfig lora,
                                         ActivationCheckpointing checkpointing, Precision precision) {
        return build(cfg, batch, seqLen, dtype, true, cfg.dropout(), dropoutSeed, trainable, fullValues, lora,
                checkpointing, new int[1], precision);
    }

    /** The evaluation graph in {@code precision} (loss only; no loss-scale input). */
    public static TrainingGraph evaluation(GptConfig cfg, int batch, int seqLen, DType dtype, Trainable trainable,
                                           float[] fullValues, LoraConfig lora, Precision precision) {
        return build(cfg, batch, seqLen, dtype, false, 0, 0, trainable, fullValues, lora, ActivationCheckpointing.NONE,
                new int[1], precision);
    }

    /** The evaluation graph of a partly frozen or LoRA-adapted GPT, as {@link #training(GptConfig, int, int, DType, long, Trainable, float[], LoraConfig)}. */
    public static TrainingGraph evaluation(GptConfig cfg, int batch, int seqLen, DType dtype, Trainable trainable,
                                           float[] fullValues, LoraConfig lora) {
        return build(cfg, batch, seqLen, dtype, false, 0, 0, trainable, fullValues, lora, ActivationCheckpointing.NONE);
    }

    /** The training graph with dropout seed 0. */
    public static TrainingGraph training(GptConfig cfg, int batch, int seqLen, DType dtype) {
        return training(cfg, batch, seqLen, dtype, 0);
    }

    /** Forward and loss only: no backward pass, no dropout. */
    public static TrainingGraph evaluation(GptConfig cfg, int batch, int seqLen, DType dtype) {
        return build(cfg, batch, seqLen, dtype, false, 0, 0, null, null, null, ActivationCheckpointing.NONE);
    }

    /**
     * The training graph of {@link #training(GptConfig, int, int, DType, long, Trainable, float[], LoraConfig,
     * ActivationCheckpointing)} cut into stages for overlapping the gradient all-reduce with the
     * backward pass: stage 0 runs the forward pass, the loss and the backward pass of the last
     * blocks; each later stage continues the backward pass through the blocks below. Every
     * gradient is computed by the same nodes as in the whole graph, so it is bit-identical.
     *
     * @param buckets how many groups of blocks the backward pass is cut into (1 to n_layer)
     * @param trainable what trains, or null for every parameter
     */
    public static StagedTrainingGraph stagedTraining(GptConfig cfg, int batch, int seqLen, DType dtype,
                                                     long dropoutSeed, Trainable trainable, float[] fullValues,
                                                     LoraConfig lora, ActivationCheckpointing checkpointing,
                                                     int buckets) {
        int[] forwardNodes = new int[1];
        TrainingGraph whole = build(cfg, batch, seqLen, dtype, true, cfg.dropout(), dropoutSeed, trainable, fullValues,
                lora, checkpointing, forwardNodes);
        return BackwardBuckets.split(whole, forwardNodes[0], cfg.nLayer(), buckets);
    }

    private static TrainingGraph build(GptConfig cfg, int batch, int seqLen, DType dtype, boolean withGradients,
                                       double dropout, long dropoutSeed, Trainable trainable,
                                       float[] fullValues, LoraConfig lora, ActivationCheckpointing checkpointing) {
        return build(cfg, batch, seqLen, dtype, withGradients, dropout, dropoutSeed, trainable, fullValues, lora,
                checkpointing, new int[1]);
    }

    /** @param forwardNodes receives the number of nodes before the backward pass */
    private static TrainingGraph build(GptConfig cfg, int batch, int seqLen, DType dtype, boolean withGradients,
                                       double dropout, long dropoutSeed, Trainable trainable,
                                       float[] fullValues, LoraConfig lora, ActivationCheckpointing checkpointing,
                                       int[] forwardNodes) {
        return build(cfg, batch, seqLen, dtype, withGradients, dropout, dropoutSeed, trainable, fullValues, lora,
                checkpointing, forwardNodes, Precision.FP32);
    }

    private static TrainingGraph build(GptConfig cfg, int batch, int seqLen, DType dtype, boolean withGradients,
                                       double dropout, long dropoutSeed, Trainable trainable,
                                       float[] fullValues, LoraConfig lora, ActivationCheckpointing checkpointing,
                                       int[] forwardNodes, Precision precision) {
        GptForward.checkDtype(dtype);
        boolean half = precision == Precision.FP16;
        if (precision != Precision.FP32 && dtype != DType.FLOAT) {
            throw new IllegalArgumentException(precision.label() + " is built on float32 parameter inputs; build it"
                    + " with dtype float, not " + dtype.onnxName());
        }
        if (seqLen < 1 || seqLen > cfg.blockSize()) {
            throw new IllegalArgumentException("sequence length must be in [1, block_size=" + cfg.blockSize()
                    + "], got " + seqLen);
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be positive, got " + batch);
        }
        Trainable selection = trainable == null ? Trainable.all(ParameterLayout.of(cfg)) : trainable;
        ParameterLayout layout = selection.layout();
        Graph graph = new Graph(withGradients ? "gpt_train" : "gpt_eval");
        Map<String, Tensor> params = selection.declare(graph, dtype, fullValues);
        // fp16: the forward pass reads float16 copies; the float32 inputs stay what gradients are taken of.
        Map<String, Tensor> compute = half ? halfCopies(params) : params;
        DType computeType = half ? DType.FLOAT16 : dtype;
        Tensor idx = graph.input(TrainingGraph.TOKENS, DType.INT64, GptForward.tokens(batch, seqLen));
        Tensor targets = graph.input(TrainingGraph.TARGETS, DType.INT64, GptForward.tokens(batch, seqLen));

        Tensor wpe = compute.get("wpe");
        Tensor positions = seqLen == cfg.blockSize() ? wpe
                : wpe.slice(new long[] {0}, new long[] {seqLen}, new long[] {0});     // [T, C]
        GptForward forward = new GptForward(graph, cfg, compute, dropout, dropoutSeed)
                .recomputingAttention(withGradients && checkpointing == ActivationCheckpointing.ATTENTION);
        if (lora != null) {
            forward.withAdapter(lora.adapter(graph, compute, withGradients ? lora.dropout() : 0, dropoutSeed));
        }
        Tensor mask = half ? GptForward.causalMask(graph, seqLen, DType.FLOAT).cast(computeType)
                : GptForward.causalMask(graph, seqLen, dtype);                          // [T, T]
        Tensor logits = forward.logits(idx, positions, mask);                           // [B, T, V]
        if (half) {
            logits = logits.cast(DType.FLOAT);          // the softmax and the loss in float32, for range
        }
        Tensor loss;
        try (Graph.Scope s = graph.scope("loss")) {
            loss = logits.reshape(-1, cfg.vocabSize())                                  // [B*T, V]
                    .softmaxCrossEntropy(targets.reshape(-1));                          // []
        }
        graph.output(TrainingGraph.LOSS, loss);
        Tensor scale = null;
        Tensor differentiated = loss;
        if (half && withGradients) {
            // d(loss * scale)/dp flows through float16 scaled up, so small gradients do not flush to zero.
            scale = graph.input(LOSS_SCALE, DType.INT64, Shape.of(batch))
                    .slice(new long[] {0}, new long[] {1}, new long[] {0})              // [1]
                    .reshape(new long[0]).cast(DType.FLOAT);                              // []
            differentiated = loss.mul(scale);
        }
        forwardNodes[0] = graph.nodes().size();
        if (withGradients) {
            List<Tensor> paramList = new ArrayList<>();
            for (ParameterLayout.View v : layout.views()) {
                paramList.add(params.get(v.name()));
            }
            List<Tensor> grads = Autodiff.gradients(differentiated, paramList);
            for (int i = 0; i < paramList.size(); i++) {
                // An overflowed float16 gradient stays infinite (or NaN) after the division: the
                // caller's finiteness check sees it and skips the step.
                Tensor g = scale == null ? grads.get(i) : grads.get(i).div(scale);
                graph.output(TrainingGraph.gradientName(paramList.get(i).name()), g);
            }
            if (precision == Precision.BF16_STORAGE) {
                // The saved activations in bfloat16; every op still computes in float32.
                Bf16ActivationStorage.apply(graph, forwardNodes[0]);
            }
        }
        return new TrainingGraph(graph, layout, cfg, batch, seqLen, withGradients);
    }

    /** A float16 cast of every parameter, by the same names. */
    private static Map<String, Tensor> halfCopies(Map<String, Tensor> params) {
        Map<String, Tensor> copies = new LinkedHashMap<>();
        params.forEach((name, p) -> copies.put(name, p.cast(DType.FLOAT16)));
        return copies;
    }

    /**
     * The self-contained inference graph: {@value #INPUT_IDS} int64 [batch, seq] to
     * {@value #LOGITS} float [batch, seq, vocab], with the weights stored as initializers.
     * Any seq up to block_size works.
     *
     * @param params the flat float32 parameters, laid out as {@link ParameterLayout#of}
     */
    public static Graph inference(GptConfig cfg, FloatBuffer params) {
        ParameterLayout layout = ParameterLayout.of(cfg);
        if (params.remaining() < layout.size()) {
            throw new IllegalArgumentException("expected " + layout.size() + " parameters, got " + params.remaining());
        }
        Graph graph = new Graph("gpt");
        Tensor ids = graph.input(INPUT_IDS, DType.INT64, Shape.mixed("batch", "seq"));
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (ParameterLayout.View v : layout.views()) {
            FloatBuffer slice = params.duplicate();
            slice.position(params.position() + (int) v.offset());
            weights.put(v.name(), graph.initializer(v.name(), TensorData.ofFloats(slice, v.shape())));
        }
        // Positions and mask are cut to the runtime sequence length.
        Tensor seq = ids.shapeOf().slice(new long[] {1}, new long[] {2}, new long[] {0});     // [1]
        Tensor zero = graph.longs(0);
        Tensor positions = weights.get("wpe").apply("Slice", Map.of(), zero, seq, graph.longs(0)); // [T, C]
        Tensor fullMask = GptForward.causalMask(graph, cfg.blockSize(), DType.FLOAT);                  // [block, block]
        Tensor mask = fullMask.apply("Slice", Map.of(), graph.longs(0, 0), seq.apply("Concat", Map.of("axis", 0L), seq),
                graph.longs(0, 1));                                                       // [T, T]
        GptForward forward = new GptForward(graph, cfg, weights, 0, 0);
        graph.output(LOGITS, forward.logits(ids, positions, mask));
        return graph;
    }
}
