package io.troupe.model.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.model.io.ModelFileException;
import io.troupe.model.io.Safetensors;
import io.troupe.model.io.TensorEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a Hugging Face BERT directory ({@code config.json} and {@code model.safetensors}) into an
 * {@link ImportedEncoder} through the same name map as the ONNX import ({@link BertMapping}).
 * {@code nn.Linear} weights are stored [out, in] there and are transposed to Troupe's [in, out];
 * a {@code bert.} prefix (BertForMaskedLM, BertForSequenceClassification) is dropped. Heads,
 * GELU ({@code hidden_act}: gelu = erf; gelu_new / gelu_pytorch_tanh = tanh) and epsilon come
 * from config.json.
 */
public final class SafetensorsBertImport {
    public static final String CONFIG_FILE = "config.json";
    public static final String WEIGHTS_FILE = "model.safetensors";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private SafetensorsBertImport() {
    }

    /** Imports {@code dir}. @throws ModelFileException naming the missing file, key or tensor */
    public static ImportedEncoder load(Path dir) {
        Path config = dir.resolve(CONFIG_FILE);
        Path weights = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(config) || !Files.isRegularFile(weights)) {
            throw new ModelFileException(dir + " is not a Hugging Face BERT directory: it needs " + CONFIG_FILE
                    + " and " + WEIGHTS_FILE);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readString(config));
        } catch (IOException e) {
            throw new ModelFileException(config + " is not readable JSON: " + e.getMessage(), e);
        }
        int heads = root.path("num_attention_heads").asInt(0);
        if (heads <= 0) {
            throw new ModelFileException(config + " has no positive num_attention_heads");
        }
        String act = root.path("hidden_act").asText("gelu");
        String gelu = switch (act) {
            case "gelu" -> "none";
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> "tanh";
            default -> throw new ModelFileException(config + ": hidden_act '" + act + "' is not a GELU Troupe computes"
                    + " (gelu, gelu_new, gelu_pytorch_tanh)");
        };
        double eps = root.path("layer_norm_eps").asDouble(1e-12);
        Map<String, BertMapping.HfTensor> tensors = new LinkedHashMap<>();
        try (Safetensors file = Safetensors.open(weights)) {
            for (TensorEntry e : file.entries().values()) {
                String name = e.name().startsWith("bert.") ? e.name().substring(5) : e.name();
                float[] values = file.floats(e.name());
                long[] shape = e.shape();
                if (shape.length == 2 && name.endsWith(".weight") && !name.startsWith("embeddings.")
                        && !name.equals("cls.predictions.decoder.weight")) {
                    tensors.put(name, transpose(shape, values));    // nn.Linear [out, in] -> [in, out]
                } else {
                    tensors.put(name, new BertMapping.HfTensor(shape, values));
                }
            }
        }
        return BertMapping.map(tensors, heads, gelu, eps, "hf:" + dir);
    }

    private static BertMapping.HfTensor transpose(long[] shape, float[] v) {
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        float[] out = new float[v.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = v[r * cols + c];
            }
        }
        return new BertMapping.HfTensor(new long[] {cols, rows}, out);
    }
}
