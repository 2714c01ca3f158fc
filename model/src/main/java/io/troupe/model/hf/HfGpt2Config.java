package io.troupe.model.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.io.ModelFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;

/**
 * The parts of a Hugging Face GPT-2 {@code config.json} that decide the model's shape and
 * arithmetic, checked to be something Troupe's GPT ({@code GptForward}) computes exactly.
 *
 * <p>Refused, with one line naming the file and the key: a {@code model_type} other than
 * {@code gpt2}; an activation other than GPT-2's tanh GELU ({@code gelu_new},
 * {@code gelu_pytorch_tanh}, {@code gelu_fast}, which are the same function); a
 * {@code layer_norm_epsilon} other than 1e-5; an {@code n_inner} other than 4 x n_embd;
 * {@code scale_attn_weights: false}, {@code scale_attn_by_inverse_layer_idx: true} or
 * {@code add_cross_attention: true}; a missing or non-positive size, or n_embd not divisible by
 * n_head.
 *
 * @param nLayer {@code n_layer}
 * @param nHead {@code n_head}
 * @param nEmbd {@code n_embd}
 * @param nPositions {@code n_positions} (older files: {@code n_ctx}), Troupe's block size
 * @param vocabSize {@code vocab_size}
 * @param dropout {@code resid_pdrop} (default 0.1, as in transformers), Troupe's one dropout
 * @param tiedEmbeddings {@code tie_word_embeddings} (default true): the output head is wte
 */
public record HfGpt2Config(int nLayer, int nHead, int nEmbd, int nPositions, int vocabSize, double dropout,
                           boolean tiedEmbeddings) {

    /** The file name of a Hugging Face model's configuration. */
    public static final String FILE_NAME = "config.json";
    /** The LayerNorm epsilon Troupe's GPT uses. */
    public static final double LAYER_NORM_EPS = 1e-5;
    /** Spellings of GPT-2's tanh-approximated GELU in transformers' ACT2FN. */
    public static final Set<String> TANH_GELU = Set.of("gelu_new", "gelu_pytorch_tanh", "gelu_fast");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * Reads and checks {@code file} (see the class comment).
     *
     * @throws ModelFileException if it is missing, not JSON, or describes a model Troupe cannot express
     */
    public static HfGpt2Config read(Path file) throws ModelFileException {
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new ModelFileException(file + " does not exist; a Hugging Face model directory needs its " + FILE_NAME);
        } catch (JsonProcessingException e) {
            throw new ModelFileException(file + " is not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ModelFileException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFileException(file + " is not a JSON object");
        }
        return fromJson(root, file.toString());
    }

    /** Checks a parsed config; {@code where} names it in messages. */
    public static HfGpt2Config fromJson(JsonNode root, String where) throws ModelFileException {
        String modelType = root.path("model_type").asText("gpt2");
        if (!modelType.equals("gpt2")) {
            throw refuse(where, "has model_type \"" + modelType + "\"; Troupe imports only gpt2 models");
        }
        String activation = root.path("activation_function").asText("gelu_new");
        if (!TANH_GELU.contains(activation)) {
            throw refuse(where, "has activation_function \"" + activation + "\"; Troupe's GPT uses GPT-2's tanh GELU"
                    + " (gelu_new), so it cannot compute this model exactly");
        }
        double eps = root.path("layer_norm_epsilon").asDouble(LAYER_NORM_EPS);
        if (Math.abs(eps - LAYER_NORM_EPS) > 1e-12) {
            throw refuse(where, "has layer_norm_epsilon " + eps + "; Troupe's GPT uses " + LAYER_NORM_EPS);
        }
        int nLayer = positive(root, where, "n_layer");
        int nHead = positive(root, where, "n_head");
        int nEmbd = positive(root, where, "n_embd");
        int nPositions = root.has("n_positions") ? positive(root, where, "n_positions") : positive(root, where, "n_ctx");
        int vocabSize = positive(root, where, "vocab_size");
        if (nEmbd % nHead != 0) {
            throw refuse(where, "has n_embd " + nEmbd + " not divisible by n_head " + nHead);
        }
        JsonNode nInner = root.get("n_inner");
        if (nInner != null && !nInner.isNull() && nInner.asInt() != 4 * nEmbd) {
            throw refuse(where, "has n_inner " + nInner + "; Troupe's GPT has an MLP of 4 x n_embd = " + 4 * nEmbd);
        }
        requireFlag(root, where, "scale_attn_weights", true);
        requireFlag(root, where, "scale_attn_by_inverse_layer_idx", false);
        requireFlag(root, where, "add_cross_attention", false);
        double dropout = root.path("resid_pdrop").asDouble(0.1);
        if (!(dropout >= 0 && dropout < 1)) {
            throw refuse(where, "has resid_pdrop " + dropout + ", outside [0, 1)");
        }
        boolean tied = root.path("tie_word_embeddings").asBoolean(true);
        return new HfGpt2Config(nLayer, nHead, nEmbd, nPositions, vocabSize, dropout, tied);
    }

    /** Troupe's config for this model: GPT-2 always has biases. */
    public GptConfig toGptConfig() {
        return new GptConfig(vocabSize, nPositions, nLayer, nHead, nEmbd, dropout, true, tiedEmbeddings);
    }

    private static int positive(JsonNode root, String where, String key) {
        JsonNode v = root.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
            throw refuse(where, "has no positive integer \"" + key + "\" (got " + v + ")");
        }
        return v.intValue();
    }

    private static void requireFlag(JsonNode root, String where, String key, boolean supported) {
        JsonNode v = root.get(key);
        if (v != null && !v.isNull() && v.asBoolean() != supported) {
            throw refuse(where, "has " + key + " " + v + "; Troupe's GPT supports only " + supported);
        }
    }

    private static ModelFileException refuse(String where, String problem) {
        return new ModelFileException(where + " " + problem);
    }
}
