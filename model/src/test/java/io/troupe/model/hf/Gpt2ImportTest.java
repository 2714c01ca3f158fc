package io.troupe.model.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.errors.TroupeException;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.io.ModelFileException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gpt2ImportTest {
    private static final int L = 2;
    private static final int NH = 2;
    private static final int C = 16;
    private static final int T = 16;
    private static final int V = 50;
    private static final double TOLERANCE = 1e-4;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    @TempDir
    Path tmp;

    private static RandomGpt2 model(String prefix) {
        return new RandomGpt2(L, NH, C, T, V, 42, prefix);
    }

    private static long[][] prompts() {
        Random random = new Random(5);
        long[][] prompts = new long[2][T];
        for (long[] p : prompts) {
            for (int i = 0; i < T; i++) {
                p[i] = random.nextInt(V);
            }
        }
        return prompts;
    }

    /** Logits [B][T][V] of Troupe's inference graph, run in ONNX Runtime. */
    private float[][][] troupeLogits(GptConfig config, float[] parameters, long[][] ids) throws Exception {
        int b = ids.length;
        int t = ids[0].length;
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(ids[i], 0, flat, i * t, t);
        }
        byte[] graph = GptGraphs.inference(config, FloatBuffer.wrap(parameters)).toBytes();
        try (OrtSession session = env.createSession(graph, new OrtSession.SessionOptions());
             OnnxTensor input = OnnxTensor.createTensor(env, LongBuffer.wrap(flat), new long[] {b, t});
             OrtSession.Result result = session.run(Map.of(GptGraphs.INPUT_IDS, input))) {
            float[] logits = ((OnnxTensor) result.get(GptGraphs.LOGITS).get()).getFloatBuffer().array();
            float[][][] out = new float[b][t][config.vocabSize()];
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < t; j++) {
                    System.arraycopy(logits, (i * t + j) * config.vocabSize(), out[i][j], 0, config.vocabSize());
                }
            }
            return out;
        }
    }

    /** The largest |Troupe - reference| over every logit, and checks the logits are not trivial. */
    private double maxDifference(RandomGpt2 hf, GptConfig config, float[] parameters, long[][] ids) throws Exception {
        float[][][] troupe = troupeLogits(config, parameters, ids);
        ReferenceGpt2 reference = new ReferenceGpt2(hf);
        double worst = 0;
        double spread = 0;
        for (int i = 0; i < ids.length; i++) {
            double[][] expected = reference.logits(ids[i]);
            for (int t = 0; t < ids[i].length; t++) {
                for (int v = 0; v < config.vocabSize(); v++) {
                    worst = Math.max(worst, Math.abs(troupe[i][t][v] - expected[t][v]));
                    spread = Math.max(spread, Math.abs(expected[t][v]));
                }
            }
        }
        assertTrue(spread > 1, "the reference logits are not near zero (max |logit| " + spread + ")");
        return worst;
    }

    @Test
    void importedLogitsEqualAnIndependentReferenceForward() throws Exception {
        RandomGpt2 hf = model("transformer.");
        ImportedGpt imported = Gpt2Import.load(hf.write(tmp.resolve("gpt2")));

        assertEquals(new GptConfig(V, T, L, NH, C, 0.1, true, true), imported.config());
        assertEquals(List.of("transformer.h.0.attn.bias", "transformer.h.1.attn.bias"), imported.ignoredTensors());
        double worst = maxDifference(hf, imported.config(), imported.parameters(), prompts());
        assertTrue(worst < TOLERANCE, "max |Troupe - reference| = " + worst);

        long[][] shortPrompt = {{3, 1, 4, 1, 5, 9, 2}};
        assertTrue(maxDifference(hf, imported.config(), imported.parameters(), shortPrompt) < TOLERANCE,
                "a prompt shorter than n_positions too");
    }

    @Test
    void namesWithoutTheTransformerPrefixImportTheSameWeights() throws Exception {
        ImportedGpt prefixed = Gpt2Import.load(model("transformer.").write(tmp.resolve("a")));
        ImportedGpt bare = Gpt2Import.load(model("").write(tmp.resolve("b")));
        assertTrue(java.util.Arrays.equals(prefixed.parameters(), bare.parameters()));
    }

    @Test
    void theComparisonCatchesAWrongMapping() throws Exception {
        RandomGpt2 hf = model("transformer.");
        ImportedGpt imported = Gpt2Import.load(hf.write(tmp.resolve("gpt2")));
        ParameterLayout layout = imported.layout();

        // Reading c_proj as nn.Linear ([out, in]) instead of Conv1D ([in, out]): a transpose.
        float[] transposed = imported.parameters().clone();
        int at = (int) layout.view("h.0.attn.c_proj.weight").offset();
        for (int i = 0; i < C; i++) {
            for (int j = 0; j < C; j++) {
                transposed[at + i * C + j] = imported.parameters()[at + j * C + i];
            }
        }
        assertTrue(maxDifference(hf, imported.config(), transposed, prompts()) > 1e-2, "a transposed c_proj must go red");

        // q and k swapped inside c_attn.
        float[] swapped = imported.parameters().clone();
        int qkv = (int) layout.view("h.1.attn.c_attn.weight").offset();
        for (int row = 0; row < C; row++) {
            for (int col = 0; col < C; col++) {
                swapped[qkv + row * 3 * C + col] = imported.parameters()[qkv + row * 3 * C + C + col];
                swapped[qkv + row * 3 * C + C + col] = imported.parameters()[qkv + row * 3 * C + col];
            }
        }
        assertTrue(maxDifference(hf, imported.config(), swapped, prompts()) > 1e-2, "swapped q and k must go red");
    }

    @Test
    void anUntiedHeadIsImportedFromLmHead() throws Exception {
        RandomGpt2 hf = model("transformer.");
        float[] head = new float[V * C];
        for (int i = 0; i < head.length; i++) {
            head[i] = (float) Math.sin(i);
        }
        hf.tensors.put("lm_head.weight", head);
        hf.shapes.put("lm_head.weight", new long[] {V, C});
        hf.config.put("tie_word_embeddings", "false");
        ImportedGpt imported = Gpt2Import.load(hf.write(tmp.resolve("untied")));
        assertEquals(false, imported.config().tiedEmbeddings());
        ParameterLayout.View view = imported.layout().view("lm_head.weight");
        for (int i = 0; i < head.length; i++) {
            assertEquals(head[i], imported.parameters()[(int) view.offset() + i]);
        }

        hf.config.put("tie_word_embeddings", "true");
        ImportedGpt tied = Gpt2Import.load(hf.write(tmp.resolve("tied")));
        assertTrue(tied.config().tiedEmbeddings());
        assertTrue(tied.ignoredTensors().contains("lm_head.weight"), "a tied head is wte, whatever the file holds");
    }

    private String refusal(RandomGpt2 hf, String dir) throws Exception {
        Path written = hf.write(tmp.resolve(dir));
        ModelFileException e = assertThrows(ModelFileException.class, () -> Gpt2Import.load(written));
        assertEquals(TroupeException.Kind.INPUT_DATA, e.kind());
        assertEquals(1, e.getMessage().lines().count());
        return e.getMessage();
    }

    @Test
    void aConfigTroupeCannotComputeIsRefused() throws Exception {
        RandomGpt2 erf = model("");
        erf.config.put("activation_function", "\"gelu\"");
        assertTrue(refusal(erf, "erf").endsWith("config.json has activation_function \"gelu\"; Troupe's GPT uses GPT-2's"
                + " tanh GELU (gelu_new), so it cannot compute this model exactly"));
        RandomGpt2 eps = model("");
        eps.config.put("layer_norm_epsilon", "1e-6");
        assertTrue(refusal(eps, "eps").endsWith("config.json has layer_norm_epsilon 1.0E-6; Troupe's GPT uses 1.0E-5"));
        RandomGpt2 inner = model("");
        inner.config.put("n_inner", "32");
        assertTrue(refusal(inner, "inner").contains("has n_inner 32"));
        RandomGpt2 other = model("");
        other.config.put("model_type", "\"llama\"");
        assertTrue(refusal(other, "llama").contains("has model_type \"llama\""));
    }

    @Test
    void missingExtraOrMisshapenTensorsAreRefusedByName() throws Exception {
        RandomGpt2 missing = model("transformer.");
        missing.tensors.remove("transformer.h.1.mlp.c_fc.bias");
        assertTrue(refusal(missing, "missing").endsWith("has no tensor 'h.1.mlp.c_fc.bias' (nor"
                + " 'transformer.h.1.mlp.c_fc.bias'), which a GPT-2 of its config.json (n_layer 2, n_head 2, n_embd 16,"
                + " n_positions 16, vocab_size 50) needs"));

        RandomGpt2 wrongShape = model("");
        wrongShape.shapes.put("h.0.attn.c_attn.weight", new long[] {3 * C, C}); // nn.Linear orientation
        assertTrue(refusal(wrongShape, "shape").endsWith("tensor 'h.0.attn.c_attn.weight' has shape [48, 16] but a GPT-2"
                + " of its config.json (n_layer 2, n_head 2, n_embd 16, n_positions 16, vocab_size 50) needs [16, 48]"));

        RandomGpt2 fewerLayers = model("");
        fewerLayers.config.put("n_layer", "1");
        assertTrue(refusal(fewerLayers, "layers").contains("has tensor 'h.1.ln_1.weight' that a GPT-2 of its config.json"
                + " (n_layer 1,"));

        RandomGpt2 vocab = model("");
        vocab.config.put("vocab_size", "51");
        assertTrue(refusal(vocab, "vocab").contains("tensor 'wte.weight' has shape [50, 16] but"));
    }

    @Test
    void aDirectoryWithoutWeightsOrConfigIsRefused() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(empty + " has no model.safetensors",
                assertThrows(ModelFileException.class, () -> Gpt2Import.load(empty)).getMessage());
        Files.write(empty.resolve("pytorch_model.bin"), new byte[] {0});
        assertTrue(assertThrows(ModelFileException.class, () -> Gpt2Import.load(empty)).getMessage()
                .contains("save the model with safe_serialization=True"));
        Path noConfig = model("").write(tmp.resolve("noconfig"));
        Files.delete(noConfig.resolve("config.json"));
        assertTrue(assertThrows(ModelFileException.class, () -> Gpt2Import.load(noConfig)).getMessage()
                .endsWith("config.json does not exist; a Hugging Face model directory needs its config.json"));
    }
}
