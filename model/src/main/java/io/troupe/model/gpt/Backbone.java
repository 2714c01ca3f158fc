package io.troupe.model.gpt;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.Map;

/**
 * The body of a model that turns token ids into one hidden state per position: a GPT
 * ({@link GptConfig}) or a BERT-style encoder ({@code io.troupe.model.bert.EncoderConfig}). The
 * classification path ({@link ClassifierGraphs}, {@link TrainingScope}, {@link LoraConfig},
 * fine-tuning) works on any backbone. Both name their blocks' parameters alike
 * ({@code h.<i>.attn.c_attn}, {@code h.<i>.mlp.c_fc}, ..., embeddings {@code wte}, {@code wpe}),
 * so freezing and LoRA address the same layers in either.
 */
public interface Backbone {
    /** V: rows of the token embedding. */
    int vocabSize();

    /** The longest sequence the position table covers. */
    int blockSize();

    /** L: the number of blocks {@code h.0 .. h.(L-1)}. */
    int nLayer();

    /** C: the hidden width. */
    int nEmbd();

    /** The dropout probability training uses. */
    double dropout();

    /** This backbone with another dropout. */
    Backbone withDropout(double p);

    /** The backbone's own parameters. */
    ParameterLayout layout();

    /** True for parameters of the embedding stage (what {@code --freeze embeddings} fixes). */
    default boolean isEmbedding(String name) {
        return name.equals("wte") || name.equals("wpe");
    }

    /**
     * Emits the final hidden states of right-padded rows.
     *
     * @param idx int64 [B, T] token ids (T static in training graphs, maybe symbolic at inference)
     * @param stepIds int64 [1, T]: 0 .. T-1
     * @param lengths int64 [B]: the real tokens of each row (1..T); null when no row is padded
     * @param dropout dropout probability of this graph
     * @param adapter changes the blocks' linear layers (LoRA), or {@link LinearAdapter#NONE}
     * @return [B, T, C]
     */
    Tensor hidden(Graph graph, Map<String, Tensor> params, Tensor idx, Tensor stepIds, Tensor lengths, DType dtype,
                  double dropout, long dropoutSeed, LinearAdapter adapter);
}
