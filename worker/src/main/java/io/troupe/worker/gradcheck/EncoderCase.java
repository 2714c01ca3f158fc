package io.troupe.worker.gradcheck;

import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.bert.EncoderGraphs;
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
 * A tiny BERT-style encoder's masked-language-model loss ({@link EncoderGraphs#mlmTraining}):
 * embeddings with token types and the embedding LayerNorm, bidirectional attention, the MLP, the
 * MLM head tied to the token embedding, and a cross-entropy that ignores unmasked positions;
 * the gradient of every parameter against finite differences.
 *
 * @param config the encoder; dropout must be 0
 * @param batch B
 * @param seqLen T
 * @param seed seed of the parameters, tokens and which positions are predicted
 */
public record EncoderCase(EncoderConfig config, int batch, int seqLen, long seed) implements GradientCase {

    public EncoderCase {
        if (config.dropout() != 0) {
            throw new IllegalArgumentException("the gradient check needs dropout 0, got " + config.dropout());
        }
        if (!config.mlmHead()) {
            throw new IllegalArgumentException("the encoder case checks the MLM loss and needs an MLM head");
        }
    }

    /**
     * The cases {@code troupe gradcheck} runs: a post-LayerNorm encoder with exact GELU (float:
     * ORT has no double Erf kernel) and a pre-LayerNorm one with tanh GELU (double).
     */
    public static List<EncoderCase> tiny() {
        EncoderConfig post = new EncoderConfig(13, 8, 2, 2, 2, 8, 16, 0.0, false, "none", 1e-12, true);
        EncoderConfig pre = new EncoderConfig(13, 8, 2, 2, 2, 8, 16, 0.0, true, "tanh", 1e-5, true);
        return List.of(new EncoderCase(post, 2, 5, 3), new EncoderCase(pre, 2, 5, 4));
    }

    @Override
    public String opType() {
        return "encoder";
    }

    @Override
    public String name() {
        return (config.preLayerNorm() ? "pre" : "post") + "-LayerNorm gelu=" + config.gelu() + " L="
                + config.nLayer() + " C=" + config.nEmbd() + " [B,T]=[" + batch + "," + seqLen + "]";
    }

    @Override
    public List<DType> precisions() {
        return config.gelu().equals("none") ? List.of(DType.FLOAT) : List.of(DType.DOUBLE, DType.FLOAT);
    }

    @Override
    public Tolerance tolerance(DType precision) {
        return precision == DType.FLOAT ? GptCase.FLOAT_TOLERANCE : Tolerance.defaultFor(precision);
    }

    @Override
    public CheckableModel build(DType precision, GradientHook hook) {
        if (hook != GradientHook.NONE) {
            throw new UnsupportedOperationException("the encoder case checks EncoderGraphs' own gradients");
        }
        ParameterLayout layout = config.layout();
        float[] flat = ParameterInit.gpt2(config, layout, seed);
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int i = 0; i < flat.length; i++) {
            flat[i] += (float) (GptCase.JITTER * random.nextGaussian());
        }
        TrainingGraph graph = EncoderGraphs.mlmTraining(config, batch, seqLen, precision, 0);
        List<CheckableModel.Parameter> params = new ArrayList<>();
        for (ParameterLayout.View v : layout.views()) {
            double[] values = new double[Math.toIntExact(v.length())];
            for (int i = 0; i < values.length; i++) {
                values[i] = flat[Math.toIntExact(v.offset() + i)];
            }
            params.add(new CheckableModel.Parameter(v.name(), v.shape(), values));
        }
        long[] idx = new long[batch * seqLen];
        long[] targets = new long[batch * seqLen];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = random.nextLong(config.vocabSize());
            // About half the positions are predicted; the rest must not contribute.
            targets[i] = i == 0 || random.nextBoolean() ? random.nextLong(config.vocabSize()) : EncoderGraphs.IGNORE;
        }
        Map<String, TensorData> feeds = Map.of(
                TrainingGraph.TOKENS, TensorData.ofLongs(idx, batch, seqLen),
                TrainingGraph.TARGETS, TensorData.ofLongs(targets, batch, seqLen));
        return new CheckableModel(graph.toBytes(), precision, feeds, params);
    }

    @Override
    public String toString() {
        return label();
    }
}
