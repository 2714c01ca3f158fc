package io.troupe.model.hf;

import io.troupe.model.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small random GPT-2 in Hugging Face's layout, written by a test: config.json and a
 * model.safetensors whose tensors carry GPT2LMHeadModel's names ({@code transformer.h.0.attn.c_attn.weight}, {@code transformer.wte.weight},
 * Conv1D weights [in, out]) and the causal-mask buffers it saves. Weights are seeded and far
 * from an initialisation (LayerNorm weights around 1 with spread, non-zero biases) so that a
 * wrong mapping shows in the logits.
 */
final class RandomGpt2 {
    final int nLayer;
    final int nHead;
    final int nEmbd;
    final int nPositions;
    final int vocab;
    /** Tensors by their name in the file, in writing order, with their shapes. */
    final Map<String, float[]> tensors = new LinkedHashMap<>();
    final Map<String, long[]> shapes = new LinkedHashMap<>();
    /** Extra config.json entries (or overrides). */
    final Map<String, String> config = new LinkedHashMap<>();

    RandomGpt2(int nLayer, int nHead, int nEmbd, int nPositions, int vocab, long seed, String prefix) {
        this.nLayer = nLayer;
        this.nHead = nHead;
        this.nEmbd = nEmbd;
        this.nPositions = nPositions;
        this.vocab = vocab;
        SplittableRandom random = new SplittableRandom(seed);
        int c = nEmbd;
        put(random, prefix + "wte.weight", 0.3, 0, vocab, c);
        put(random, prefix + "wpe.weight", 0.1, 0, nPositions, c);
        for (int l = 0; l < nLayer; l++) {
            String h = prefix + "h." + l + ".";
            put(random, h + "ln_1.weight", 0.2, 1, c);
            put(random, h + "ln_1.bias", 0.1, 0, c);
            float[] mask = new float[nPositions * nPositions];
            for (int i = 0; i < nPositions; i++) {
                for (int j = 0; j <= i; j++) {
                    mask[i * nPositions + j] = 1;
                }
            }
            tensors.put(h + "attn.bias", mask);
            shapes.put(h + "attn.bias", new long[] {1, 1, nPositions, nPositions});
            put(random, h + "attn.c_attn.weight", 0.3, 0, c, 3 * c);
            put(random, h + "attn.c_attn.bias", 0.1, 0, 3 * c);
            put(random, h + "attn.c_proj.weight", 0.2, 0, c, c);
            put(random, h + "attn.c_proj.bias", 0.1, 0, c);
            put(random, h + "ln_2.weight", 0.2, 1, c);
            put(random, h + "ln_2.bias", 0.1, 0, c);
            put(random, h + "mlp.c_fc.weight", 0.3, 0, c, 4 * c);
            put(random, h + "mlp.c_fc.bias", 0.1, 0, 4 * c);
            put(random, h + "mlp.c_proj.weight", 0.15, 0, 4 * c, c);
            put(random, h + "mlp.c_proj.bias", 0.1, 0, c);
        }
        put(random, prefix + "ln_f.weight", 0.2, 1, c);
        put(random, prefix + "ln_f.bias", 0.1, 0, c);
    }

    private void put(SplittableRandom random, String name, double std, double mean, long... shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (mean + std * random.nextGaussian());
        }
        tensors.put(name, values);
        shapes.put(name, shape);
    }

    /** The tensor a GPT-2 name (without prefix) has in this model. */
    float[] get(String bareName) {
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            if (e.getKey().equals(bareName) || e.getKey().equals("transformer." + bareName)) {
                return e.getValue();
            }
        }
        throw new IllegalArgumentException("no tensor " + bareName);
    }

    /** Writes config.json and model.safetensors into {@code dir}. */
    Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, String> json = new LinkedHashMap<>();
        json.put("model_type", "\"gpt2\"");
        json.put("activation_function", "\"gelu_new\"");
        json.put("layer_norm_epsilon", "1e-05");
        json.put("n_layer", String.valueOf(nLayer));
        json.put("n_head", String.valueOf(nHead));
        json.put("n_embd", String.valueOf(nEmbd));
        json.put("n_positions", String.valueOf(nPositions));
        json.put("n_ctx", String.valueOf(nPositions));
        json.put("vocab_size", String.valueOf(vocab));
        json.put("n_inner", "null");
        json.put("resid_pdrop", "0.1");
        json.putAll(config);
        StringBuilder s = new StringBuilder("{\n");
        json.forEach((k, v) -> s.append("  \"").append(k).append("\": ").append(v).append(",\n"));
        s.setLength(s.length() - 2);
        Files.writeString(dir.resolve(HfGpt2Config.FILE_NAME), s.append("\n}\n"));
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        tensors.forEach((name, values) -> writer.add(name, values, shapes.get(name)));
        try (FileChannel out = FileChannel.open(dir.resolve(Gpt2Import.WEIGHTS_FILE), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            writer.writeTo(out);
        }
        return dir;
    }
}
