package io.troupe.model.explain;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.List;

/**
 * The model-specific part of an explanation: how a model turns token embeddings into the one
 * number being explained (a class logit, the log-probability of a next token or a continuation).
 * {@link ExplainGraphs} wraps it into the graphs that differentiate that number with respect to
 * the embeddings or expose the attention weights; nothing else in the explanation code knows the
 * architecture, so an encoder classifier only needs another implementation.
 */
public interface ScoreModel {
    /** C, the width of one token embedding. */
    int embeddingWidth();

    /** The longest sequence the model reads (its context length). */
    int maxTokens();

    /** The precision of the graph: float for use, double for gradient checks. */
    DType dtype();

    /**
     * Emits the model into {@code graph}, from token embeddings to one score per row. The model
     * declares (and documents) whatever further inputs it needs, such as lengths or target ids;
     * position information is added inside, so the embeddings are the token part alone.
     *
     * @param embeddings [B, T, C] of {@link #dtype()}
     * @param attention when not null, receives each layer's attention weights [B, NH, T, T] in layer order
     */
    Scores score(Graph graph, Tensor embeddings, List<Tensor> attention);

    /**
     * What {@link #score} emits.
     *
     * @param score [B]: the explained number of each row
     * @param candidates [B, N]: the score each possible target would have in its place (every
     *     class logit, every next-token log-probability), from which the model's own choice is read
     */
    record Scores(Tensor score, Tensor candidates) {
    }
}
