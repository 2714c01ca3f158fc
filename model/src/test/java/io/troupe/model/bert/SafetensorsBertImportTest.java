package io.troupe.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.io.ModelFileException;
import io.troupe.model.io.SafetensorsWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny Hugging Face BertForMaskedLM directory, written here, maps onto Troupe's encoder layout. */
class SafetensorsBertImportTest {
    private static final int V = 20;
    private static final int P = 12;
    private static final int C = 8;
    private static final int F = 16;

    @TempDir
    Path tmp;

    private final Map<String, float[]> written = new HashMap<>();

    private void add(SafetensorsWriter w, SplittableRandom r, String name, long... shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        written.put(name, v);
        w.add(name, v, shape);
    }

    private Path writeBert(String act) throws Exception {
        Path dir = tmp.resolve("bert");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"bert\", \"num_attention_heads\": 2,"
                + " \"hidden_act\": \"" + act + "\", \"layer_norm_eps\": 1e-12, \"hidden_size\": " + C + "}");
        SplittableRandom r = new SplittableRandom(1);
        SafetensorsWriter w = new SafetensorsWriter();
        add(w, r, "bert.embeddings.word_embeddings.weight", V, C);
        add(w, r, "bert.embeddings.position_embeddings.weight", P, C);
        add(w, r, "bert.embeddings.token_type_embeddings.weight", 2, C);
        add(w, r, "bert.embeddings.LayerNorm.weight", C);
        add(w, r, "bert.embeddings.LayerNorm.bias", C);
        String l = "bert.encoder.layer.0.";
        for (String qkv : new String[] {"query", "key", "value"}) {
            add(w, r, l + "attention.self." + qkv + ".weight", C, C);
            add(w, r, l + "attention.self." + qkv + ".bias", C);
        }
        add(w, r, l + "attention.output.dense.weight", C, C);
        add(w, r, l + "attention.output.dense.bias", C);
        add(w, r, l + "attention.output.LayerNorm.weight", C);
        add(w, r, l + "attention.output.LayerNorm.bias", C);
        add(w, r, l + "intermediate.dense.weight", F, C);                // nn.Linear: [out, in]
        add(w, r, l + "intermediate.dense.bias", F);
        add(w, r, l + "output.dense.weight", C, F);
        add(w, r, l + "output.dense.bias", C);
        add(w, r, l + "output.LayerNorm.weight", C);
        add(w, r, l + "output.LayerNorm.bias", C);
        add(w, r, "cls.predictions.transform.dense.weight", C, C);
        add(w, r, "cls.predictions.transform.dense.bias", C);
        add(w, r, "cls.predictions.transform.LayerNorm.weight", C);
        add(w, r, "cls.predictions.transform.LayerNorm.bias", C);
        add(w, r, "cls.predictions.bias", V);
        try (FileChannel out = FileChannel.open(dir.resolve("model.safetensors"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            w.writeTo(out);
        }
        return dir;
    }

    private static float at(ImportedEncoder e, String name, int row, int col) {
        ParameterLayout.View v = e.config().layout().view(name);
        return e.parameters()[(int) v.offset() + row * (int) v.shape()[1] + col];
    }

    @Test
    void linearsAreTransposedQkvFusedAndTheMlmHeadKept() throws Exception {
        ImportedEncoder e = SafetensorsBertImport.load(writeBert("gelu"));
        assertEquals(new EncoderConfig(V, P, 2, 1, 2, C, F, 0.0, false, "none", 1e-12, true), e.config());
        float[] q = written.get("bert.encoder.layer.0.attention.self.query.weight");
        float[] k = written.get("bert.encoder.layer.0.attention.self.key.weight");
        float[] v = written.get("bert.encoder.layer.0.attention.self.value.weight");
        float[] fc = written.get("bert.encoder.layer.0.intermediate.dense.weight");
        for (int in = 0; in < C; in++) {
            for (int out = 0; out < C; out++) {
                assertEquals(q[out * C + in], at(e, "h.0.attn.c_attn.weight", in, out));
                assertEquals(k[out * C + in], at(e, "h.0.attn.c_attn.weight", in, C + out));
                assertEquals(v[out * C + in], at(e, "h.0.attn.c_attn.weight", in, 2 * C + out));
            }
            for (int out = 0; out < F; out++) {
                assertEquals(fc[out * C + in], at(e, "h.0.mlp.c_fc.weight", in, out));
            }
        }
        float[] wte = written.get("bert.embeddings.word_embeddings.weight");
        assertEquals(wte[3 * C + 5], at(e, "wte", 3, 5), "embeddings are not transposed");
        ParameterLayout.View bias = e.config().layout().view("mlm.bias");
        assertEquals(written.get("cls.predictions.bias")[7], e.parameters()[(int) bias.offset() + 7]);
    }

    @Test
    void theTanhGeluIsReadFromConfigAndAnUnknownActivationIsRefused() throws Exception {
        assertEquals("tanh", SafetensorsBertImport.load(writeBert("gelu_new")).config().gelu());
        Files.writeString(tmp.resolve("bert/config.json"), "{\"num_attention_heads\": 2, \"hidden_act\": \"relu\"}");
        ModelFileException ex = assertThrows(ModelFileException.class, () -> SafetensorsBertImport.load(tmp.resolve("bert")));
        assertTrue(ex.getMessage().contains("relu"), ex.getMessage());
        assertFalse(ex.getMessage().contains("\n"));
    }
}
