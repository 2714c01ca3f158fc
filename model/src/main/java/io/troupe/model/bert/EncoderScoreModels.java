package io.troupe.model.bert;

import io.troupe.model.explain.ExplainGraphs;
import io.troupe.model.explain.ScoreModel;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptScoreModels;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import io.troupe.model.gpt.ParameterLayout;
import java.util.List;
import java.util.Map;

/**
 * The {@link ScoreModel} of an encoder (BERT) classifier, for explanations: the logit of class
 * {@code target_class[b]} ({@link GptScoreModels#TARGET_CLASS}) for right-padded rows of
 * {@code lengths[b]} real tokens ({@link ClassifierGraphs#LENGTHS}), pooled as the head says
 * (mean, [CLS] or last). The input embeddings are rows of {@code wte}; the graph adds positions
 * and the token type, applies the embedding LayerNorm, and masks padded keys out of attention, so
 * padding never reaches a real position. The weights are initializers, in float for use or in
 * double for gradient checks (with {@code gelu: tanh}: ONNX Runtime has no double Erf).
 */
public final class EncoderScoreModels {
    private EncoderScoreModels() {
    }

    /**
     * @param params every parameter, laid out as {@link ClassifierGraphs#layout(io.troupe.model.gpt.Backbone, ClassifierHead)}
     */
    public static ScoreModel classifier(EncoderConfig cfg, ClassifierHead head, float[] params, DType dtype) {
        if (dtype != DType.FLOAT && dtype != DType.DOUBLE) {
            throw new IllegalArgumentException("encoder graphs are built in float or double, not " + dtype.onnxName());
        }
        ParameterLayout layout = ClassifierGraphs.layout(cfg, head);
        if (params.length != layout.size()) {
            throw new IllegalArgumentException("expected " + layout.size() + " parameters, got " + params.length);
        }
        return new ScoreModel() {
            @Override
            public int embeddingWidth() {
                return cfg.nEmbd();
            }

            @Override
            public int maxTokens() {
                return cfg.blockSize();
            }

            @Override
            public DType dtype() {
                return dtype;
            }

            @Override
            public Scores score(Graph graph, Tensor embeddings, List<Tensor> attention) {
                Map<String, Tensor> weights = ExplainGraphs.initializers(graph, layout, params, dtype);
                Tensor lengths = graph.input(ClassifierGraphs.LENGTHS, DType.INT64, Shape.mixed("batch"));
                Tensor target = graph.input(GptScoreModels.TARGET_CLASS, DType.INT64, Shape.mixed("batch"));
                Tensor seq = embeddings.shapeOf().slice(new long[] {1}, new long[] {2}, new long[] {0});  // [1]
                Tensor stepIds = range(graph, cfg.blockSize())
                        .apply("Slice", Map.of(), graph.longs(0), seq, graph.longs(1));                 // [1, T]
                EncoderForward forward = new EncoderForward(graph, cfg, weights, 0, 0);
                if (attention != null) {
                    forward.recordingAttention(attention);
                }
                Tensor hidden = forward.hiddenFromEmbeddings(embeddings, stepIds, lengths, dtype);    // [B, T, C]
                Tensor logits = ClassifierGraphs.classify(graph, weights, head, hidden, stepIds, lengths,
                        dtype);                                                                       // [B, K]
                long[] classes = new long[head.classes()];
                for (int k = 0; k < classes.length; k++) {
                    classes[k] = k;
                }
                Tensor chosen = target.unsqueeze(1).apply("Equal", Map.of(),
                        graph.constant(TensorData.ofLongs(classes, 1, classes.length))).cast(dtype); // [B, K] one-hot
                return new Scores(logits.mul(chosen).reduceSum(false, 1), logits);                    // [B], [B, K]
            }
        };
    }

    /** int64 [1, n]: 0 .. n-1. */
    private static Tensor range(Graph graph, int n) {
        long[] values = new long[n];
        for (int i = 0; i < n; i++) {
            values[i] = i;
        }
        return graph.constant(TensorData.ofLongs(values, 1, n));
    }
}
