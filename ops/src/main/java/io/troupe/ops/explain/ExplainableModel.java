package io.troupe.ops.explain;

import ai.onnxruntime.OrtException;
import io.troupe.model.explain.ScoreModel;

/**
 * A model Troupe can explain: its {@link ScoreModel} (embeddings to score, in the graph) and the
 * text side (tokenizing, choosing the target, embedding lookup). A new architecture, such as an
 * encoder classifier, implements this and nothing else changes.
 */
interface ExplainableModel {
    /** The graph side, in float. */
    ScoreModel scoreModel();

    /**
     * Tokenizes {@code text} and resolves {@code target} (null: the model's own choice, which
     * {@code predict} supplies when it needs a forward pass to know it).
     *
     * @throws ExplainException when the text is empty or the target is not one this model has
     * @throws OrtException when the forward pass of {@code predict} fails
     */
    PreparedText prepare(String text, String target, TargetPredictor predict) throws OrtException;

    /** The token embeddings of {@code ids}, [ids.length * C], as the score model's input expects. */
    float[] embed(long[] ids);

    /**
     * Where integrated gradients start for the attributed positions, [prepared.attributed() * C]:
     * zero token embeddings unless a model has a better neutral input (an encoder's [MASK] or pad
     * embedding). The positions after the attributed ones keep their embeddings.
     */
    default float[] baseline(PreparedText prepared) {
        return new float[prepared.attributed() * scoreModel().embeddingWidth()];
    }

    /** What {@link #baseline} is, in words, for the user. */
    default String baselineDescription() {
        return Explanation.ZERO_BASELINE;
    }

    /** Picks the model's own target from a forward pass; see {@link #prepare}. */
    @FunctionalInterface
    interface TargetPredictor {
        /**
         * @param prepared the text with a placeholder target
         * @return the index (class or token) of the largest of the model's candidate scores for it
         */
        int argmax(PreparedText prepared) throws OrtException;
    }
}
