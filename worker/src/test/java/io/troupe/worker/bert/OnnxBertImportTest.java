package io.troupe.worker.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.bert.EncoderGraphs;
import io.troupe.model.bert.ImportedEncoder;
import io.troupe.model.bert.OnnxBertImport;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.io.ModelFileException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** all-MiniLM-L6-v2 imported from its ONNX export computes what the original computes. */
class OnnxBertImportTest {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    @Test
    void miniLmReadsAsA6Layer384WidePostLayerNormEncoderWithExactGelu() {
        EncoderConfig cfg = OnnxBertImport.read(MiniLm.file(MiniLm.ONNX)).config();
        assertEquals(new EncoderConfig(30522, 512, 2, 6, 12, 384, 1536, 0.0, false, "none", 1e-12, false), cfg);
    }

    @Test
    void onFiftySentencesTroupesLastHiddenStateEqualsTheOriginalModelRunInOrt() throws Exception {
        HfJsonTokenizer tok = MiniLm.tokenizer();
        List<String> sentences = MiniLm.sentences(50);
        assertEquals(50, sentences.size());
        long[][] rows = sentences.stream().map(s -> MiniLm.encode(tok, s)).toArray(long[][]::new);
        int b = rows.length;
        int t = java.util.Arrays.stream(rows).mapToInt(r -> r.length).max().orElseThrow();
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        long[] lengths = new long[b];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < rows[i].length; j++) {
                ids[i * t + j] = rows[i][j];
                mask[i * t + j] = 1;
            }
            lengths[i] = rows[i].length;
        }
        float[] expected;
        try (OrtSession original = env.createSession(MiniLm.file(MiniLm.ONNX).toString(), new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, t});
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {b, t});
             OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[b * t]), new long[] {b, t});
             OrtSession.Result r = original.run(Map.of("input_ids", x, "attention_mask", m, "token_type_ids", types))) {
            expected = floats((OnnxTensor) r.get("last_hidden_state").orElseThrow());
        }
        ImportedEncoder imported = OnnxBertImport.read(MiniLm.file(MiniLm.ONNX));
        byte[] graph = EncoderGraphs.inference(imported.config(), FloatBuffer.wrap(imported.parameters()), false).toBytes();
        float[] actual;
        try (OrtSession troupe = env.createSession(graph, new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, t});
             OnnxTensor l = OnnxTensor.createTensor(env, LongBuffer.wrap(lengths), new long[] {b});
             OrtSession.Result r = troupe.run(Map.of(EncoderGraphs.INPUT_IDS, x, EncoderGraphs.LENGTHS, l))) {
            actual = floats((OnnxTensor) r.get(EncoderGraphs.HIDDEN).orElseThrow());
        }
        int c = imported.config().nEmbd();
        double worst = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < lengths[i] * c; j++) {
                int at = i * t * c + j;
                worst = Math.max(worst, Math.abs(expected[at] - actual[at]));
            }
        }
        System.out.printf("MiniLM import: max |troupe - original| over %d sentences (T=%d) = %.3g%n", b, t, worst);
        assertTrue(worst < 1e-4, "max abs difference " + worst);
    }

    @Test
    void aGptExportIsRefusedNamingWhatABertNeeds(@TempDir Path dir) throws Exception {
        GptConfig gpt = new GptConfig(11, 8, 1, 2, 8, 0.0, true, true);
        float[] p = ParameterInit.gpt2(gpt, gpt.layout(), 1);
        Path file = dir.resolve("gpt.onnx");
        Files.write(file, GptGraphs.inference(gpt, FloatBuffer.wrap(p)).toBytes());
        ModelFileException e = assertThrows(ModelFileException.class, () -> OnnxBertImport.read(file));
        assertTrue(e.getMessage().contains("is not a BERT-family encoder"), e.getMessage());
        assertTrue(e.getMessage().contains("embeddings.word_embeddings.weight"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void aFileThatIsNotOnnxIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("notes.onnx");
        Files.writeString(file, "this is not a protobuf at all, just text\n");
        ModelFileException e = assertThrows(ModelFileException.class, () -> OnnxBertImport.read(file));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    private static float[] floats(OnnxTensor t) {
        FloatBuffer buf = t.getFloatBuffer();
        float[] out = new float[buf.remaining()];
        buf.get(out);
        return out;
    }
}
