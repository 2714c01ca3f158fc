package io.troupe.model.bert;

import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.io.ModelFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Maps a Hugging Face BERT's tensors, by their Hugging Face names, onto an {@link EncoderConfig}
 * and Troupe's flat layout ({@link EncoderLayout}). Both importers (ONNX and safetensors) hand
 * it the same thing: every linear weight already stored [in, out].
 *
 * <pre>
 * embeddings.word_embeddings.weight               -> wte
 * embeddings.position_embeddings.weight           -> wpe
 * embeddings.token_type_embeddings.weight         -> wtt
 * embeddings.LayerNorm.*                          -> ln_emb.*
 * encoder.layer.i.attention.self.{query,key,value} -> h.i.attn.c_attn (columns q | k | v)
 * encoder.layer.i.attention.output.dense          -> h.i.attn.c_proj
 * encoder.layer.i.attention.output.LayerNorm      -> h.i.ln_1
 * encoder.layer.i.intermediate.dense              -> h.i.mlp.c_fc
 * encoder.layer.i.output.dense                    -> h.i.mlp.c_proj
 * encoder.layer.i.output.LayerNorm                -> h.i.ln_2
 * cls.predictions.transform.dense / .LayerNorm    -> mlm.dense / mlm.ln_t   (MLM head, when present)
 * cls.predictions.bias                            -> mlm.bias (decoder tied to wte)
 * </pre>
 *
 * BERT's heads split q, k and v into NH groups of C / NH consecutive columns, as Troupe's
 * attention does, so q | k | v side by side is GPT-2's fused c_attn.
 */
public final class BertMapping {
    /** A tensor by Hugging Face name: shape and row-major float values. */
    public record HfTensor(long[] shape, float[] values) {
    }

    /** The names a file must hold to be read as a BERT-family encoder. */
    static final List<String> REQUIRED = List.of("embeddings.word_embeddings.weight",
            "embeddings.position_embeddings.weight", "embeddings.LayerNorm.weight",
            "encoder.layer.0.attention.self.query.bias", "encoder.layer.0.attention.self.query.weight");

    private BertMapping() {
    }

    /**
     * Builds the encoder.
     *
     * @param tensors by Hugging Face name (with any {@code bert.} prefix removed), linear weights [in, out]
     * @param nHead the number of attention heads (not visible in the weights)
     * @param gelu "none" or "tanh"
     * @param layerNormEps the LayerNorm epsilon
     * @param what the file, for messages
     * @throws ModelFileException naming what is missing or misshapen
     */
    public static ImportedEncoder map(Map<String, HfTensor> tensors, int nHead, String gelu, double layerNormEps,
                                      String what) {
        requireNames(tensors, what);
        long[] wte = tensors.get("embeddings.word_embeddings.weight").shape();
        long[] wpe = tensors.get("embeddings.position_embeddings.weight").shape();
        HfTensor types = tensors.get("embeddings.token_type_embeddings.weight");
        int layers = 0;
        while (tensors.containsKey("encoder.layer." + layers + ".attention.self.query.bias")) {
            layers++;
        }
        HfTensor inter = require(tensors, "encoder.layer.0.intermediate.dense.bias", what);
        boolean mlm = tensors.containsKey("cls.predictions.transform.dense.weight");
        int c = (int) wte[1];
        if (c % nHead != 0) {
            throw new ModelFileException(what + ": hidden size " + c + " is not divisible by " + nHead + " heads");
        }
        EncoderConfig cfg = new EncoderConfig((int) wte[0], (int) wpe[0], types == null ? 1 : (int) types.shape()[0],
                layers, nHead, c, (int) inter.shape()[0], 0.0, false, gelu, layerNormEps, mlm);
        ParameterLayout layout = cfg.layout();
        float[] flat = new float[Math.toIntExact(layout.size())];
        put(flat, layout, "wte", require(tensors, "embeddings.word_embeddings.weight", what), what);
        put(flat, layout, "wpe", require(tensors, "embeddings.position_embeddings.weight", what), what);
        if (types == null) {
            // A model without segments: type 0 adds nothing.
            types = new HfTensor(new long[] {1, c}, new float[c]);
        }
        put(flat, layout, "wtt", types, what);
        put(flat, layout, "ln_emb.weight", require(tensors, "embeddings.LayerNorm.weight", what), what);
        put(flat, layout, "ln_emb.bias", require(tensors, "embeddings.LayerNorm.bias", what), what);
        for (int i = 0; i < layers; i++) {
            String hf = "encoder.layer." + i + ".";
            String h = "h." + i + ".";
            HfTensor q = require(tensors, hf + "attention.self.query.weight", what);
            HfTensor k = require(tensors, hf + "attention.self.key.weight", what);
            HfTensor v = require(tensors, hf + "attention.self.value.weight", what);
            put(flat, layout, h + "attn.c_attn.weight", concatColumns(q, k, v), what);
            put(flat, layout, h + "attn.c_attn.bias", concatColumns(
                    require(tensors, hf + "attention.self.query.bias", what),
                    require(tensors, hf + "attention.self.key.bias", what),
                    require(tensors, hf + "attention.self.value.bias", what)), what);
            linear(flat, layout, tensors, hf + "attention.output.dense", h + "attn.c_proj", what);
            norm(flat, layout, tensors, hf + "attention.output.LayerNorm", h + "ln_1", what);
            linear(flat, layout, tensors, hf + "intermediate.dense", h + "mlp.c_fc", what);
            linear(flat, layout, tensors, hf + "output.dense", h + "mlp.c_proj", what);
            norm(flat, layout, tensors, hf + "output.LayerNorm", h + "ln_2", what);
        }
        if (mlm) {
            linear(flat, layout, tensors, "cls.predictions.transform.dense", "mlm.dense", what);
            norm(flat, layout, tensors, "cls.predictions.transform.LayerNorm", "mlm.ln_t", what);
            HfTensor bias = tensors.containsKey("cls.predictions.bias") ? tensors.get("cls.predictions.bias")
                    : require(tensors, "cls.predictions.decoder.bias", what);
            put(flat, layout, "mlm.bias", bias, what);
        }
        return new ImportedEncoder(cfg, flat, what);
    }

    /** Fails naming every {@link #REQUIRED} tensor {@code tensors} lacks. */
    static void requireNames(Map<String, HfTensor> tensors, String what) {
        List<String> missing = new ArrayList<>();
        for (String name : REQUIRED) {
            if (!tensors.containsKey(name)) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw new ModelFileException(what + " is not a BERT-family encoder: it has no " + String.join(", ", missing)
                    + " (it holds " + sample(tensors) + ")");
        }
    }

    private static String sample(Map<String, HfTensor> tensors) {
        TreeSet<String> names = new TreeSet<>(tensors.keySet());
        if (names.isEmpty()) {
            return "no named weights";
        }
        List<String> first = names.stream().limit(3).toList();
        return names.size() + " named weights such as " + String.join(", ", first);
    }

    private static HfTensor require(Map<String, HfTensor> tensors, String name, String what) {
        HfTensor t = tensors.get(name);
        if (t == null) {
            throw new ModelFileException(what + " is not a complete BERT encoder: " + name + " is missing");
        }
        return t;
    }

    private static void linear(float[] flat, ParameterLayout layout, Map<String, HfTensor> tensors, String hf,
                               String troupe, String what) {
        put(flat, layout, troupe + ".weight", require(tensors, hf + ".weight", what), what);
        put(flat, layout, troupe + ".bias", require(tensors, hf + ".bias", what), what);
    }

    private static void norm(float[] flat, ParameterLayout layout, Map<String, HfTensor> tensors, String hf,
                             String troupe, String what) {
        put(flat, layout, troupe + ".weight", require(tensors, hf + ".weight", what), what);
        put(flat, layout, troupe + ".bias", require(tensors, hf + ".bias", what), what);
    }

    private static void put(float[] flat, ParameterLayout layout, String name, HfTensor t, String what) {
        ParameterLayout.View v = layout.view(name);
        if (!Arrays.equals(v.shape(), t.shape())) {
            throw new ModelFileException(what + ": " + name + " should be " + Arrays.toString(v.shape()) + ", the file has "
                    + Arrays.toString(t.shape()));
        }
        System.arraycopy(t.values(), 0, flat, Math.toIntExact(v.offset()), t.values().length);
    }

    /** [in, a] | [in, b] | [in, c] side by side, or three vectors end to end. */
    private static HfTensor concatColumns(HfTensor... parts) {
        if (parts[0].shape().length == 1) {
            int n = 0;
            for (HfTensor p : parts) {
                n += p.values().length;
            }
            float[] out = new float[n];
            int at = 0;
            for (HfTensor p : parts) {
                System.arraycopy(p.values(), 0, out, at, p.values().length);
                at += p.values().length;
            }
            return new HfTensor(new long[] {n}, out);
        }
        int rows = (int) parts[0].shape()[0];
        int cols = 0;
        for (HfTensor p : parts) {
            cols += (int) p.shape()[1];
        }
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            int at = r * cols;
            for (HfTensor p : parts) {
                int w = (int) p.shape()[1];
                System.arraycopy(p.values(), r * w, out, at, w);
                at += w;
            }
        }
        return new HfTensor(new long[] {rows, cols}, out);
    }
}
