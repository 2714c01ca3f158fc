package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.model.io.SafetensorsWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code finetune --from hf:DIR} with a Hugging Face BERT directory (config.json model_type bert) written here. */
class FinetuneFromHfBertTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int C = 8;
    private static final int F = 16;

    @TempDir
    Path tmp;

    private static void add(SafetensorsWriter w, SplittableRandom r, String name, double std, double mean,
                            long... shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (mean + std * r.nextGaussian());
        }
        w.add(name, v, shape);
    }

    private Path writeBert() throws Exception {
        Path dir = tmp.resolve("bert");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"bert\", \"num_attention_heads\": 2,"
                + " \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12}");
        Files.writeString(dir.resolve("tokenizer.json"), EncoderCommandsTest.TOKENIZER);
        SplittableRandom r = new SplittableRandom(2);
        SafetensorsWriter w = new SafetensorsWriter();
        add(w, r, "embeddings.word_embeddings.weight", 0.1, 0, 12, C);
        add(w, r, "embeddings.position_embeddings.weight", 0.1, 0, 16, C);
        add(w, r, "embeddings.token_type_embeddings.weight", 0.1, 0, 2, C);
        add(w, r, "embeddings.LayerNorm.weight", 0.05, 1, C);
        add(w, r, "embeddings.LayerNorm.bias", 0.05, 0, C);
        String l = "encoder.layer.0.";
        for (String qkv : new String[] {"query", "key", "value"}) {
            add(w, r, l + "attention.self." + qkv + ".weight", 0.2, 0, C, C);
            add(w, r, l + "attention.self." + qkv + ".bias", 0.05, 0, C);
        }
        add(w, r, l + "attention.output.dense.weight", 0.2, 0, C, C);
        add(w, r, l + "attention.output.dense.bias", 0.05, 0, C);
        add(w, r, l + "attention.output.LayerNorm.weight", 0.05, 1, C);
        add(w, r, l + "attention.output.LayerNorm.bias", 0.05, 0, C);
        add(w, r, l + "intermediate.dense.weight", 0.2, 0, F, C);
        add(w, r, l + "intermediate.dense.bias", 0.05, 0, F);
        add(w, r, l + "output.dense.weight", 0.2, 0, C, F);
        add(w, r, l + "output.dense.bias", 0.05, 0, C);
        add(w, r, l + "output.LayerNorm.weight", 0.05, 1, C);
        add(w, r, l + "output.LayerNorm.bias", 0.05, 0, C);
        try (FileChannel out = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            w.writeTo(out);
        }
        return dir;
    }

    @Test
    void aHuggingFaceBertDirectoryFineTunesAsAnEncoderClassifier() throws Exception {
        Path bert = writeBert();
        Path data = tmp.resolve("data.tsv");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            s.append("the cat sat on the mat\tpos\nthe dog sat\tneg\n");
        }
        Files.writeString(data, s);
        Path out = tmp.resolve("out");
        troupe("finetune", "--from", "hf:" + bert, "--task", "classify", "--data", data, "--out", out, "--steps", 2,
                "--threads", 1, "--pooling", "cls", "batch_size=4", "warmup_iters=1", "lr_decay_iters=2",
                "eval_interval=2").assertOk();
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals("bert", summary.get("arch").asText());
        assertEquals("cls", summary.get("pooling").asText());
        troupe("predict", "--model", out, "--text", "the cat sat").assertOk();
    }
}
