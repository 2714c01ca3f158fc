package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TINY;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.source.DataSource;
import io.troupe.model.io.SafetensorsWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code finetune --from hf:DIR}: a small random Hugging Face GPT-2 directory written here, fine-tuned as a classifier. */
class FinetuneFromHfTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int C = 16;
    private static final int T = 16;

    @TempDir
    Path tmp;

    /** GPT-2's byte-to-character table: printable Latin-1 bytes map to themselves, the rest to 256 + n. */
    private static char[] byteLevelAlphabet() {
        char[] out = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = printable ? (char) b : (char) (256 + n++);
        }
        return out;
    }

    private static Path writeGpt2(Path dir) throws Exception {
        Files.createDirectories(dir);
        Map<String, Integer> vocab = new LinkedHashMap<>();
        char[] alphabet = byteLevelAlphabet();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(alphabet[b]), b);
        }
        vocab.put("<|endoftext|>", 256);
        int v = vocab.size();
        Files.writeString(dir.resolve("vocab.json"), JSON.writeValueAsString(vocab));
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"activation_function\": \"gelu_new\","
                + " \"layer_norm_epsilon\": 1e-05, \"n_layer\": 1, \"n_head\": 2, \"n_embd\": " + C + ", \"n_positions\": "
                + T + ", \"n_ctx\": " + T + ", \"vocab_size\": " + v + ", \"n_inner\": null, \"resid_pdrop\": 0.1}\n");
        SplittableRandom random = new SplittableRandom(5);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        add(w, random, "wte.weight", 0.1, 0, v, C);
        add(w, random, "wpe.weight", 0.05, 0, T, C);
        add(w, random, "h.0.ln_1.weight", 0.1, 1, C);
        add(w, random, "h.0.ln_1.bias", 0.05, 0, C);
        add(w, random, "h.0.attn.c_attn.weight", 0.1, 0, C, 3 * C);
        add(w, random, "h.0.attn.c_attn.bias", 0.05, 0, 3 * C);
        add(w, random, "h.0.attn.c_proj.weight", 0.1, 0, C, C);
        add(w, random, "h.0.attn.c_proj.bias", 0.05, 0, C);
        add(w, random, "h.0.ln_2.weight", 0.1, 1, C);
        add(w, random, "h.0.ln_2.bias", 0.05, 0, C);
        add(w, random, "h.0.mlp.c_fc.weight", 0.1, 0, C, 4 * C);
        add(w, random, "h.0.mlp.c_fc.bias", 0.05, 0, 4 * C);
        add(w, random, "h.0.mlp.c_proj.weight", 0.1, 0, 4 * C, C);
        add(w, random, "h.0.mlp.c_proj.bias", 0.05, 0, C);
        add(w, random, "ln_f.weight", 0.1, 1, C);
        add(w, random, "ln_f.bias", 0.05, 0, C);
        try (FileChannel out = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            w.writeTo(out);
        }
        return dir;
    }

    private static void add(SafetensorsWriter w, SplittableRandom r, String name, double std, double mean, long... shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (mean + std * r.nextGaussian());
        }
        w.add(name, values, shape);
    }

    @Test
    void aHuggingFaceGpt2FineTunesIntoAClassifierThatPredicts() throws Exception {
        Path hf = writeGpt2(tmp.resolve("gpt2"));
        Path data = tmp.resolve("data.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            s.append(i % 2 == 0 ? "{\"text\": \"Great, I loved it!\", \"label\": \"pos\"}\n"
                    : "{\"text\": \"Awful. Never again.\", \"label\": \"neg\"}\n");
        }
        Files.writeString(data, s);
        Path out = tmp.resolve("out");
        troupe("finetune", "--from", "hf:" + hf, "--task", "classify", "--data", data, "--out", out, "--steps", 3,
                "--threads", 1, TINY).assertOk();
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(DataSource.sha256(hf.resolve("model.safetensors")), summary.get("source").get("sha256").asText());
        assertEquals(257, summary.get("config").get("vocab_size").asInt());
        assertTrue(summary.get("config").get("bias").asBoolean(), "GPT-2 has biases: the source's shape wins");
        troupe("predict", "--model", out, "--text", "I loved it").assertOk();
    }

    @Test
    void aHuggingFaceDirectoryWithoutWeightsIsRefusedInOneLine() throws Exception {
        Path hf = writeGpt2(tmp.resolve("gpt2"));
        Files.delete(hf.resolve("model.safetensors"));
        Path data = tmp.resolve("data.tsv");
        Files.writeString(data, "good\tpos\nbad\tneg\n");
        troupe("finetune", "--from", "hf:" + hf, "--task", "classify", "--data", data, "--out", tmp.resolve("out"), TINY)
                .assertOneLineError("--from hf:").assertExit(1);
    }
}
