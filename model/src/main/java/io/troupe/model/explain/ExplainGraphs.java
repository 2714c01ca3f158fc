package io.troupe.model.explain;

import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.Autodiff;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The two graphs an explanation runs, built around a {@link ScoreModel}: one gives the score and
 * its gradient with respect to the token embeddings (gradient x input, integrated gradients), the
 * other the score and every layer's attention weights (attention rollout). Both take a symbolic
 * batch, so integrated gradients run all interpolation steps as the rows of one batch.
 */
public final class ExplainGraphs {
    /** Input: token embeddings [batch, seq, C]. */
    public static final String EMBEDDINGS = "embeddings";
    /** Output: the explained score of each row, [batch]. */
    public static final String SCORE = "score";
    /** Output: d score[b] / d embeddings[b], [batch, seq, C]. */
    public static final String EMBEDDINGS_GRAD = "embeddings_grad";
    /** Output: the score every possible target would have, [batch, N] (see {@link ScoreModel.Scores}). */
    public static final String CANDIDATES = "candidates";
    /** Outputs {@code attention.0}, {@code attention.1}, ...: each layer's weights [batch, NH, seq, seq]. */
    public static final String ATTENTION_PREFIX = "attention.";

    private ExplainGraphs() {
    }

    /** Score and its gradient with respect to the embeddings. */
    public static Graph gradient(ScoreModel model) {
        Graph graph = new Graph("explain_gradient");
        Tensor embeddings = input(graph, model);                                   // [B, T, C]
        ScoreModel.Scores scores = model.score(graph, embeddings, null);
        Tensor score = scores.score();                                             // [B]
        graph.output(SCORE, score);
        graph.output(CANDIDATES, scores.candidates());                            // [B, N]
        // Rows never interact, so the gradient of the batch's sum is each row's own gradient.
        Tensor total = score.reduceSum(false, 0);                                  // []
        Tensor grad = Autodiff.gradients(total, List.of(embeddings)).get(0);       // [B, T, C]
        graph.output(EMBEDDINGS_GRAD, grad);
        return graph;
    }

    /** Score and attention weights, forward only. */
    public static Graph attention(ScoreModel model) {
        Graph graph = new Graph("explain_attention");
        Tensor embeddings = input(graph, model);
        List<Tensor> attention = new ArrayList<>();
        ScoreModel.Scores scores = model.score(graph, embeddings, attention);
        graph.output(SCORE, scores.score());
        graph.output(CANDIDATES, scores.candidates());
        for (int i = 0; i < attention.size(); i++) {
            graph.output(ATTENTION_PREFIX + i, attention.get(i));                  // [B, NH, T, T]
        }
        return graph;
    }

    /**
     * Every parameter of {@code layout} as an initializer of {@code graph}, by name, in
     * {@code dtype} (double for gradient checks), as score models hold their weights.
     */
    public static Map<String, Tensor> initializers(Graph graph, ParameterLayout layout, float[] params, DType dtype) {
        if (params.length != layout.size()) {
            throw new IllegalArgumentException("expected " + layout.size() + " parameters, got " + params.length);
        }
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (ParameterLayout.View v : layout.views()) {
            int from = Math.toIntExact(v.offset());
            int n = Math.toIntExact(v.length());
            TensorData data;
            if (dtype == DType.DOUBLE) {
                double[] d = new double[n];
                for (int i = 0; i < n; i++) {
                    d[i] = params[from + i];
                }
                data = TensorData.ofDoubles(d, v.shape());
            } else {
                data = TensorData.ofFloats(java.nio.FloatBuffer.wrap(params, from, n).slice(), v.shape());
            }
            weights.put(v.name(), graph.initializer(v.name(), data));
        }
        return weights;
    }

    private static Tensor input(Graph graph, ScoreModel model) {
        return graph.input(EMBEDDINGS, model.dtype(), Shape.mixed("batch", "seq", model.embeddingWidth()));
    }
}
