package io.troupe.model.hf;

import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.io.ModelFileException;
import io.troupe.model.io.Safetensors;
import io.troupe.model.io.TensorEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Imports a Hugging Face GPT-2 directory ({@code config.json} and {@code model.safetensors}) as
 * Troupe's {@link GptConfig} and flat parameters.
 *
 * <p><b>The mapping is one to one.</b> Troupe's parameters carry GPT-2's names
 * ({@link ParameterLayout}) and its linears compute {@code x @ W + b} with W stored
 * {@code [in, out]}, which is exactly the layout of GPT-2's {@code Conv1D} weights; and Troupe
 * splits {@code c_attn}'s output columns into q, k, v in that order and each into heads of
 * {@code n_embd / n_head} consecutive columns, as GPT-2 does. So {@code h.N.attn.c_attn.weight}
 * {@code [C, 3C]}, {@code c_proj} {@code [C, C]}, {@code mlp.c_fc} {@code [C, 4C]},
 * {@code mlp.c_proj} {@code [4C, C]}, {@code wte} {@code [V, C]}, {@code wpe} {@code [T, C]} and
 * the LayerNorms are copied without a transpose; only the embeddings' names differ
 * ({@code wte.weight} there, {@code wte} here). (A model stored with {@code nn.Linear}
 * weights, {@code [out, in]}, would need one; GPT-2 has none.) The output head is tied to
 * {@code wte} unless {@code tie_word_embeddings} is false, when {@code lm_head.weight}
 * {@code [V, C]} is imported as Troupe's untied head.
 *
 * <p>Names are accepted with or without the {@code transformer.} prefix that
 * {@code GPT2LMHeadModel} gives them. The causal-mask buffers some files hold
 * ({@code h.N.attn.bias}, {@code h.N.attn.masked_bias}) are skipped. Every other tensor must be
 * one Troupe expects: a missing tensor, a tensor of another shape (named with both shapes), an
 * unexpected tensor (e.g. an extra layer) or one that is not floating point is a one-line
 * {@link ModelFileException}. F16 and BF16 weights are widened to float.
 */
public final class Gpt2Import {

    /** The weights file of a Hugging Face model directory. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    private static final String PREFIX = "transformer.";
    /** The untied output head, which sits beside the transformer, never behind its prefix. */
    private static final String LM_HEAD = "lm_head.weight";

    private Gpt2Import() {
    }

    /**
     * Imports the model in {@code directory}.
     *
     * @throws ModelFileException if the directory, its config or its weights are missing or do
     *     not describe a GPT-2 Troupe can compute exactly; the message names the file and the problem
     */
    public static ImportedGpt load(Path directory) throws ModelFileException {
        if (!Files.isDirectory(directory)) {
            throw new ModelFileException(directory + " is not a directory; give a Hugging Face GPT-2 directory with "
                    + HfGpt2Config.FILE_NAME + " and " + WEIGHTS_FILE);
        }
        Path weights = directory.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            String hint = Files.exists(directory.resolve("pytorch_model.bin"))
                    ? "; it has pytorch_model.bin, which Troupe does not read: save the model with safe_serialization=True"
                    : "";
            throw new ModelFileException(directory + " has no " + WEIGHTS_FILE + hint);
        }
        GptConfig config = HfGpt2Config.read(directory.resolve(HfGpt2Config.FILE_NAME)).toGptConfig();
        try (Safetensors file = Safetensors.open(weights)) {
            return fill(config, file);
        }
    }

    /** Copies every parameter of {@code config}'s layout out of {@code file}. */
    static ImportedGpt fill(GptConfig config, Safetensors file) throws ModelFileException {
        ParameterLayout layout = ParameterLayout.of(config);
        float[] parameters = new float[Math.toIntExact(layout.size())];
        Set<String> used = new HashSet<>();
        for (ParameterLayout.View view : layout.views()) {
            String hf = hfName(view.name());
            String name = file.entry(hf).isPresent() || hf.equals(LM_HEAD) ? hf : PREFIX + hf;
            TensorEntry entry = file.entry(name).orElseThrow(() -> new ModelFileException(file.file() + " has no tensor '"
                    + hf + "'" + (hf.equals(LM_HEAD) ? "" : " (nor '" + PREFIX + hf + "')") + ", which a GPT-2 of its"
                    + " config.json (" + describe(config) + ") needs"));
            if (!Arrays.equals(entry.shape(), view.shape())) {
                throw new ModelFileException(file.file() + " tensor '" + name + "' has shape "
                        + Arrays.toString(entry.shape()) + " but a GPT-2 of its config.json (" + describe(config)
                        + ") needs " + Arrays.toString(view.shape()));
            }
            file.floats(name, parameters, Math.toIntExact(view.offset()));
            used.add(name);
        }
        List<String> ignored = new ArrayList<>();
        for (String name : file.names()) {
            if (used.contains(name)) {
                continue;
            }
            String bare = name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name;
            boolean maskBuffer = bare.matches("h\\.\\d+\\.attn\\.(bias|masked_bias)");
            boolean tiedHead = config.tiedEmbeddings() && name.equals(LM_HEAD);
            if (!maskBuffer && !tiedHead) {
                throw new ModelFileException(file.file() + " has tensor '" + name + "' that a GPT-2 of its config.json ("
                        + describe(config) + ") does not use; check that config.json belongs to these weights");
            }
            ignored.add(name);
        }
        return new ImportedGpt(config, parameters, file.file(), ignored);
    }

    /**
     * GPT-2's name for Troupe's parameter {@code troupeName}, without the transformer. prefix:
     * the same, except the embeddings, which are {@code nn.Embedding}s there ({@code wte.weight}).
     */
    static String hfName(String troupeName) {
        return troupeName.equals("wte") || troupeName.equals("wpe") ? troupeName + ".weight" : troupeName;
    }

    private static String describe(GptConfig c) {
        return "n_layer " + c.nLayer() + ", n_head " + c.nHead() + ", n_embd " + c.nEmbd() + ", n_positions "
                + c.blockSize() + ", vocab_size " + c.vocabSize();
    }
}
