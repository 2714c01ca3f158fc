package io.troupe.model.gpt;

import io.troupe.model.explain.ExplainGraphs;
import io.troupe.model.explain.ScoreModel;
import io.troupe.model.graph.Composites;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.util.List;
import java.util.Map;

/**
 * {@link ScoreModel}s of Troupe's GPTs, for explanations: a classifier's class logit and a
 * language model's log-probability of chosen tokens. The weights are initializers of the graph
 * (in float, or in double for gradient checks); the input embeddings are rows of {@code wte},
 * to which the graph adds {@code wpe} for positions 0..T-1.
 */
public final class GptScoreModels {
    /** Classifier input: int64 [batch], the class whose logit is the score. */
    public static final String TARGET_CLASS = "target_class";
    /** Language-model input: int64 [P], the positions whose next-token prediction is scored. */
    public static final String TARGET_POSITIONS = "target_positions";
    /** Language-model input: int64 [P], the token expected after each target position. */
    public static final String TARGET_IDS = "target_ids";

    private GptScoreModels() {
    }

    /**
     * The logit of class {@code target_class[b]} for right-padded rows of {@code lengths[b]}
     * real tokens ({@value ClassifierGraphs#LENGTHS} int64 [batch]), pooled as the head says.
     *
     * @param params every parameter, laid out as {@link ClassifierGraphs#layout(GptConfig, ClassifierHead)}
     */
    public static ScoreModel classifier(GptConfig cfg, ClassifierHead head, float[] params, DType dtype) {
        ParameterLayout layout = ClassifierGraphs.layout(cfg, head);
        return new Base(cfg, layout, params, dtype) {
            @Override
            Scores scoreFrom(Graph graph, Map<String, Tensor> weights, GptForward forward, Tensor hidden, Tensor seq) {
                Tensor lengths = graph.input(ClassifierGraphs.LENGTHS, DType.INT64, Shape.mixed("batch"));
                Tensor target = graph.input(TARGET_CLASS, DType.INT64, Shape.mixed("batch"));
                Tensor stepIds = range(graph, cfg.blockSize(), 1)
                        .apply("Slice", Map.of(), graph.longs(0), seq, graph.longs(1));            // [1, T]
                Tensor logits = ClassifierGraphs.classify(graph, weights, head, hidden, stepIds, lengths,
                        dtype);                                                                  // [B, K]
                Tensor chosen = target.unsqueeze(1).apply("Equal", Map.of(), range(graph, head.classes(), 1))
                        .cast(dtype);                                                            // [B, K] one-hot
                return new Scores(logits.mul(chosen).reduceSum(false, 1), logits);               // [B], [B, K]
            }
        };
    }

    /**
     * The summed log-probability of token {@code target_ids[p]} following position
     * {@code target_positions[p]}, over p: the next token when P = 1 and the position is the
     * last, a continuation when the input holds the prompt and the continuation but its last token.
     *
     * @param params every parameter, laid out as {@link ParameterLayout#of(GptConfig)}
     */
    public static ScoreModel languageModel(GptConfig cfg, float[] params, DType dtype) {
        return new Base(cfg, ParameterLayout.of(cfg), params, dtype) {
            @Override
            Scores scoreFrom(Graph graph, Map<String, Tensor> weights, GptForward forward, Tensor hidden, Tensor seq) {
                Tensor positions = graph.input(TARGET_POSITIONS, DType.INT64, Shape.mixed("targets"));
                Tensor ids = graph.input(TARGET_IDS, DType.INT64, Shape.mixed("targets"));
                Tensor steps = range(graph, cfg.blockSize(), 0)
                        .apply("Slice", Map.of(), graph.longs(0), seq, graph.longs(0));            // [T, 1]
                Tensor select = steps.apply("Equal", Map.of(), positions.unsqueeze(0)).cast(dtype); // [T, P]
                // A product with a one-hot [T, P] picks the target positions where Gather along T
                // would need a gradient rule for axis 1.
                Tensor picked = hidden.transpose(0, 2, 1).matMul(select)                       // [B, C, P]
                        .transpose(0, 2, 1);                                                     // [B, P, C]
                Tensor logProbs = Composites.logSoftmax(forward.head(picked));                   // [B, P, V]
                Tensor chosen = ids.unsqueeze(1).apply("Equal", Map.of(), range(graph, cfg.vocabSize(), 1))
                        .cast(dtype);                                                            // [P, V] one-hot
                Tensor lastTarget = logProbs.slice(new long[] {-1}, new long[] {Long.MAX_VALUE}, new long[] {1})
                        .squeeze(1);                                                             // [B, V]
                return new Scores(logProbs.mul(chosen).reduceSum(false, 1, 2), lastTarget);      // [B], [B, V]
            }
        };
    }

    /** int64 0..n-1 as a [1, n] row (axis 1) or an [n, 1] column (axis 0). */
    private static Tensor range(Graph graph, int n, int axis) {
        long[] values = new long[n];
        for (int i = 0; i < n; i++) {
            values[i] = i;
        }
        return graph.constant(axis == 1 ? TensorData.ofLongs(values, 1, n) : TensorData.ofLongs(values, n, 1));
    }

    /** The GPT body from embeddings to final hidden states; subclasses add the head and the score. */
    private abstract static class Base implements ScoreModel {
        private final GptConfig cfg;
        private final ParameterLayout layout;
        private final float[] params;
        private final DType dtype;

        Base(GptConfig cfg, ParameterLayout layout, float[] params, DType dtype) {
            GptForward.checkDtype(dtype);
            if (params.length != layout.size()) {
                throw new IllegalArgumentException("expected " + layout.size() + " parameters, got " + params.length);
            }
            this.cfg = cfg;
            this.layout = layout;
            this.params = params;
            this.dtype = dtype;
        }

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
            // Positions and the causal mask are cut to the runtime sequence length.
            Tensor seq = embeddings.shapeOf().slice(new long[] {1}, new long[] {2}, new long[] {0});  // [1]
            Tensor zero = graph.longs(0);
            Tensor positions = weights.get("wpe").apply("Slice", Map.of(), zero, seq, zero);         // [T, C]
            Tensor mask = GptForward.causalMask(graph, cfg.blockSize(), dtype).apply("Slice", Map.of(),
                    graph.longs(0, 0), seq.apply("Concat", Map.of("axis", 0L), seq), graph.longs(0, 1)); // [T, T]
            GptForward forward = new GptForward(graph, cfg, weights, 0, 0);
            if (attention != null) {
                forward.recordingAttention(attention);
            }
            Tensor hidden = forward.hiddenFromEmbeddings(embeddings, positions, mask);              // [B, T, C]
            return scoreFrom(graph, weights, forward, hidden, seq);
        }

        /**
         * @param hidden [B, T, C] final hidden states
         * @param seq int64 [1]: T
         * @return the score [B] and the candidates' scores [B, N]
         */
        abstract Scores scoreFrom(Graph graph, Map<String, Tensor> weights, GptForward forward, Tensor hidden,
                                  Tensor seq);
    }
}
