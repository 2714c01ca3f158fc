package io.troupe.worker.gradcheck;

import io.troupe.model.gpt.ActivationCheckpointing;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.TensorData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The whole GPT training graph as the trainer builds it ({@link GptGraphs#training}): every
 * parameter's gradient of the mean cross-entropy loss, checked against finite differences of
 * that loss.
 *
 * <p>The parameters start from {@link ParameterInit#gpt2} plus N(0, {@value #JITTER}^2) noise
 * on every element: GPT-2's zero biases and unit LayerNorm weights would make some terms of the
 * rules multiply exact zeros and ones, and its 0.02 weights a near-uniform attention, hiding
 * errors that a trained model would meet.
 *
 * @param config the model; dropout must be 0 (a GPT has many Dropout nodes, each drawing its
 *     own mask; Dropout's rule is checked on its own, with fresh sessions)
 * @param batch B
 * @param seqLen T
 * @param seed seed of the parameters and the tokens
 * @param checkpointing what the training graph recomputes in its backward pass (the
 *     {@code activation_checkpointing} setting): its custom backward is checked like the rest
 */
public record GptCase(GptConfig config, int batch, int seqLen, long seed, ActivationCheckpointing checkpointing)
        implements GradientCase {
    /** Standard deviation of the noise added to GPT-2's initial values. */
    public static final double JITTER = 0.05;

    /**
     * Float32 check of a whole GPT, used only if ONNX Runtime refuses the double graph. The loss
     * (~ln V) comes out of thousands of float32 roundings, every one of which a perturbation can
     * flip, so the finite differences carry ~1e-5 of absolute noise at h = 1e-2 (measured; a
     * smaller h is worse: 3e-3 doubles and 1e-3 triples the largest error). Most GPT gradient
     * elements are 1e-3..2e-2, so the floor of 3e-2 makes this mostly an absolute check with an
     * allowance of 3e-4; measured errors reach 1.5e-3 against the 1e-2 tolerance. A float32 GPT
     * check only catches gross errors; the double check is the one that counts.
     */
    public static final Tolerance FLOAT_TOLERANCE = new Tolerance(1e-2, 1e-2, 3e-2);

    /** A case of the graph without recomputation. */
    public GptCase(GptConfig config, int batch, int seqLen, long seed) {
        this(config, batch, seqLen, seed, ActivationCheckpointing.NONE);
    }

    public GptCase {
        if (config.dropout() != 0) {
            throw new IllegalArgumentException("the GPT gradient check needs dropout 0, got " + config.dropout());
        }
    }

    /** The tiny GPT of the gradient check: V=11, T=8, B=2, C=16, NH=2, L=2, biases, tied embeddings. */
    public static GptCase tiny() {
        return new GptCase(new GptConfig(11, 8, 2, 2, 16, 0.0, true, true), 2, 8, 1234);
    }

    /** {@link #tiny()} with the attention weights recomputed in the backward pass. */
    public static GptCase tinyRecomputingAttention() {
        return new GptCase(new GptConfig(11, 8, 2, 2, 16, 0.0, true, true), 2, 8, 1234,
                ActivationCheckpointing.ATTENTION);
    }

    @Override
    public String opType() {
        return checkpointing == ActivationCheckpointing.NONE ? "gpt" : "gpt_recomputed_" + checkpointing.label();
    }

    @Override
    public String name() {
        GptConfig c = config;
        return "V=" + c.vocabSize() + " T=" + seqLen + " B=" + batch + " C=" + c.nEmbd() + " NH=" + c.nHead()
                + " L=" + c.nLayer() + (c.bias() ? "" : " no bias") + (c.tiedEmbeddings() ? "" : " untied");
    }

    @Override
    public Tolerance tolerance(DType precision) {
        return precision == DType.FLOAT ? FLOAT_TOLERANCE : Tolerance.defaultFor(precision);
    }

    /** The parameter values of the check: GPT-2's initialisation plus jitter. */
    public float[] initialParameters() {
        ParameterLayout layout = ParameterLayout.of(config);
        float[] values = ParameterInit.gpt2(config, layout, seed);
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int i = 0; i < values.length; i++) {
            values[i] += (float) (JITTER * random.nextGaussian());
        }
        return values;
    }

    @Override
    public CheckableModel build(DType precision, GradientHook hook) {
        if (hook != GradientHook.NONE) {
            throw new UnsupportedOperationException("the GPT case checks GptGraphs' own gradient outputs; "
                    + "it cannot apply a gradient hook");
        }
        TrainingGraph training = GptGraphs.training(config, batch, seqLen, precision, 0, checkpointing);
        float[] flat = initialParameters();
        List<CheckableModel.Parameter> params = new ArrayList<>();
        for (ParameterLayout.View v : training.layout().views()) {
            double[] values = new double[Math.toIntExact(v.length())];
            for (int i = 0; i < values.length; i++) {
                values[i] = flat[Math.toIntExact(v.offset() + i)];
            }
            params.add(new CheckableModel.Parameter(v.name(), v.shape(), values));
        }
        SplittableRandom random = new SplittableRandom(seed);
        long[] idx = new long[batch * seqLen];
        long[] targets = new long[batch * seqLen];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = random.nextLong(config.vocabSize());
            targets[i] = random.nextLong(config.vocabSize());
        }
        Map<String, TensorData> feeds = Map.of(
                TrainingGraph.TOKENS, TensorData.ofLongs(idx, batch, seqLen),
                TrainingGraph.TARGETS, TensorData.ofLongs(targets, batch, seqLen));
        return new CheckableModel(training.toBytes(), precision, feeds, params);
    }

    @Override
    public String toString() {
        return label();
    }
}
