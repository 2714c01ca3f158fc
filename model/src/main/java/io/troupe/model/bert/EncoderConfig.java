package io.troupe.model.bert;

import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.LinearAdapter;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.Map;

/**
 * The shape of a BERT-style encoder: vocabulary V, position table P ({@code blockSize}), token
 * types, L layers, NH heads, width C, MLP width F, dropout, where the LayerNorms sit, which GELU
 * the MLP uses, the LayerNorm epsilon, and whether a masked-language-model head is on top.
 *
 * <p>Parameters are named like the GPT's where the layer is the same ({@link EncoderLayout}), so
 * freezing, LoRA and the classifier path treat both alike.
 *
 * @param typeVocabSize rows of the token-type table (BERT: 2); inputs here are one segment, type 0
 * @param nInner F, the MLP's hidden width (BERT: 4C)
 * @param preLayerNorm true: x + f(LN(x)) and a final LayerNorm; false (BERT): LN(x + f(x))
 * @param gelu "none" (exact, erf; BERT) or "tanh"
 * @param layerNormEps BERT uses 1e-12
 * @param mlmHead whether the layout holds the MLM head (dense, GELU, LayerNorm, tied decoder, bias)
 */
public record EncoderConfig(int vocabSize, int blockSize, int typeVocabSize, int nLayer, int nHead, int nEmbd,
                            int nInner, double dropout, boolean preLayerNorm, String gelu, double layerNormEps,
                            boolean mlmHead) implements Backbone {

    public EncoderConfig {
        requirePositive("vocab_size", vocabSize);
        requirePositive("max_position_embeddings", blockSize);
        requirePositive("type_vocab_size", typeVocabSize);
        requirePositive("n_layer", nLayer);
        requirePositive("n_head", nHead);
        requirePositive("n_embd", nEmbd);
        requirePositive("n_inner", nInner);
        if (nEmbd % nHead != 0) {
            throw new IllegalArgumentException("n_embd (" + nEmbd + ") must be divisible by n_head (" + nHead + ")");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
        if (!"none".equals(gelu) && !"tanh".equals(gelu)) {
            throw new IllegalArgumentException("gelu must be none (erf) or tanh, got '" + gelu + "'");
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException("layer_norm_eps must be positive, got " + layerNormEps);
        }
    }

    private static void requirePositive(String key, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be positive, got " + value);
        }
    }

    /**
     * A BERT-base-like encoder of the given size: post-LayerNorm, exact GELU, epsilon 1e-12,
     * two token types, F = 4C.
     */
    public static EncoderConfig bert(int vocabSize, int blockSize, int nLayer, int nHead, int nEmbd, double dropout,
                                     boolean mlmHead) {
        return new EncoderConfig(vocabSize, blockSize, 2, nLayer, nHead, nEmbd, 4 * nEmbd, dropout, false, "none",
                1e-12, mlmHead);
    }

    @Override
    public EncoderConfig withDropout(double p) {
        return new EncoderConfig(vocabSize, blockSize, typeVocabSize, nLayer, nHead, nEmbd, nInner, p, preLayerNorm,
                gelu, layerNormEps, mlmHead);
    }

    /** This config with or without the MLM head. */
    public EncoderConfig withMlmHead(boolean head) {
        return new EncoderConfig(vocabSize, blockSize, typeVocabSize, nLayer, nHead, nEmbd, nInner, dropout,
                preLayerNorm, gelu, layerNormEps, head);
    }

    /** This config with another vocabulary size. */
    public EncoderConfig withVocabSize(int v) {
        return new EncoderConfig(v, blockSize, typeVocabSize, nLayer, nHead, nEmbd, nInner, dropout, preLayerNorm,
                gelu, layerNormEps, mlmHead);
    }

    /** Head size C / NH. */
    public int headSize() {
        return nEmbd / nHead;
    }

    @Override
    public ParameterLayout layout() {
        return EncoderLayout.of(this);
    }

    @Override
    public boolean isEmbedding(String name) {
        return name.equals(EncoderLayout.WTE) || name.equals(EncoderLayout.WPE) || name.equals(EncoderLayout.WTT)
                || name.startsWith(EncoderLayout.LN_EMB + ".");
    }

    @Override
    public Tensor hidden(Graph graph, Map<String, Tensor> params, Tensor idx, Tensor stepIds, Tensor lengths,
                         DType dtype, double dropout, long dropoutSeed, LinearAdapter adapter) {
        return new EncoderForward(graph, this, params, dropout, dropoutSeed).withAdapter(adapter)
                .hidden(idx, stepIds, lengths, dtype);
    }

    /** The config as JSON-friendly key/values, for model metadata ({@link #fromMap}). */
    public Map<String, Object> toMap() {
        return Map.ofEntries(Map.entry("arch", "bert"), Map.entry("vocab_size", vocabSize),
                Map.entry("block_size", blockSize), Map.entry("type_vocab_size", typeVocabSize),
                Map.entry("n_layer", nLayer), Map.entry("n_head", nHead), Map.entry("n_embd", nEmbd),
                Map.entry("n_inner", nInner), Map.entry("dropout", dropout), Map.entry("pre_layer_norm", preLayerNorm),
                Map.entry("gelu", gelu), Map.entry("layer_norm_eps", layerNormEps), Map.entry("mlm_head", mlmHead));
    }

    /**
     * Reads {@link #toMap}'s keys.
     *
     * @throws IllegalArgumentException naming a missing or bad key
     */
    public static EncoderConfig fromMap(Map<String, ?> m) {
        return new EncoderConfig(intKey(m, "vocab_size"), intKey(m, "block_size"), intKey(m, "type_vocab_size"),
                intKey(m, "n_layer"), intKey(m, "n_head"), intKey(m, "n_embd"), intKey(m, "n_inner"),
                number(m, "dropout").doubleValue(), bool(m, "pre_layer_norm"), String.valueOf(m.get("gelu")),
                number(m, "layer_norm_eps").doubleValue(), bool(m, "mlm_head"));
    }

    private static Number number(Map<String, ?> m, String key) {
        if (!(m.get(key) instanceof Number n)) {
            throw new IllegalArgumentException("encoder config: '" + key + "' is missing or not a number");
        }
        return n;
    }

    private static int intKey(Map<String, ?> m, String key) {
        return number(m, key).intValue();
    }

    private static boolean bool(Map<String, ?> m, String key) {
        if (!(m.get(key) instanceof Boolean b)) {
            throw new IllegalArgumentException("encoder config: '" + key + "' is missing or not true/false");
        }
        return b;
    }
}
