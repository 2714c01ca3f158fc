package io.troupe.worker.gradcheck;

import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.model.gpt.Trainable;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.TensorData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A GPT with a classification head as the fine-tuner builds it ({@link ClassifierGraphs#training}):
 * the gradient of the mean cross-entropy over class labels with respect to every trainable
 * parameter, on a right-padded batch of varied lengths, checked against finite differences. The
 * frozen parameters are initializers of the graph, as in training.
 *
 * @param config the body; dropout must be 0
 * @param head classes and pooling
 * @param scope what trains
 * @param lengths each row's real length (the batch is their count, T their maximum)
 * @param seed seed of the parameters, tokens and labels
 * @param lora LoRA adapters (then only they and the head train, and {@code scope} must be ALL), or null
 */
public record ClassifierCase(Backbone config, ClassifierHead head, TrainingScope scope, long[] lengths, long seed,
                             LoraConfig lora) implements GradientCase {

    public ClassifierCase {
        if (lora != null && lora.dropout() != 0) {
            throw new IllegalArgumentException("the gradient check needs LoRA dropout 0, got " + lora.dropout());
        }
        if (config.dropout() != 0) {
            throw new IllegalArgumentException("the gradient check needs dropout 0, got " + config.dropout());
        }
        lengths = lengths.clone();
    }

    @Override
    public String opType() {
        return "classifier";
    }

    @Override
    public String name() {
        return "K=" + head.classes() + " pooling=" + head.pooling().label() + " trains "
                + (lora == null ? scope.describe() : lora.describe())
                + " lengths=" + java.util.Arrays.toString(lengths);
    }

    @Override
    public Tolerance tolerance(DType precision) {
        return precision == DType.FLOAT ? GptCase.FLOAT_TOLERANCE : Tolerance.defaultFor(precision);
    }

    @Override
    public CheckableModel build(DType precision, GradientHook hook) {
        if (hook != GradientHook.NONE) {
            throw new UnsupportedOperationException("the classifier case checks ClassifierGraphs' own gradients");
        }
        ParameterLayout layout = ClassifierGraphs.layout(config, head, lora);
        float[] flat = ParameterInit.gpt2(config, layout, seed);
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int i = 0; i < flat.length; i++) {
            flat[i] += (float) (GptCase.JITTER * random.nextGaussian());
        }
        Trainable trainable = lora == null ? scope.select(config, layout)
                : Trainable.of(layout, n -> LoraConfig.isAdapter(n) || n.startsWith(ClassifierGraphs.HEAD_PREFIX));
        int batch = lengths.length;
        int t = (int) java.util.Arrays.stream(lengths).max().orElseThrow();
        TrainingGraph graph = ClassifierGraphs.training(config, head, batch, t, precision, 0, trainable, flat, lora);
        List<CheckableModel.Parameter> params = new ArrayList<>();
        for (ParameterLayout.View v : trainable.layout().views()) {
            long from = layout.view(v.name()).offset();
            double[] values = new double[Math.toIntExact(v.length())];
            for (int i = 0; i < values.length; i++) {
                values[i] = flat[Math.toIntExact(from + i)];
            }
            params.add(new CheckableModel.Parameter(v.name(), v.shape(), values));
        }
        long[] idx = new long[batch * t];
        long[] labels = new long[batch];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = random.nextLong(config.vocabSize());
        }
        for (int b = 0; b < batch; b++) {
            labels[b] = random.nextLong(head.classes());
        }
        Map<String, TensorData> feeds = Map.of(
                TrainingGraph.TOKENS, TensorData.ofLongs(idx, batch, t),
                ClassifierGraphs.LENGTHS, TensorData.ofLongs(lengths, batch),
                ClassifierGraphs.LABELS, TensorData.ofLongs(labels, batch));
        return new CheckableModel(graph.toBytes(), precision, feeds, params);
    }

    @Override
    public String toString() {
        return label();
    }
}
