package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code finetune --from onnx:FILE --tokenizer tokenizer.json --task classify} on all-MiniLM-L6-v2. */
class FinetuneFromOnnxTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path onnx;
    private static Path tokenizer;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void copyMiniLmFromTheClasspath() throws Exception {
        onnx = copy("all-minilm-l6-v2.onnx");
        tokenizer = copy("all-minilm-l6-v2-tokenizer.json");
    }

    private static Path copy(String resource) throws Exception {
        Path out = shared.resolve(resource);
        try (InputStream in = FinetuneFromOnnxTest.class.getClassLoader().getResourceAsStream(resource)) {
            Files.copy(in, out);
        }
        return out;
    }

    private Path data() throws Exception {
        Path data = tmp.resolve("data.tsv");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            s.append("Great phone, I loved it!\tpos\n").append("Awful battery. Never again.\tneg\n");
        }
        Files.writeString(data, s);
        return data;
    }

    @Test
    void miniLmFineTunesAsAClassifierWithMeanPoolingAndItsExportPredicts() throws Exception {
        Path out = tmp.resolve("out");
        troupe("finetune", "--from", "onnx:" + onnx, "--tokenizer", tokenizer, "--task", "classify", "--data", data(),
                "--out", out, "--steps", 2, "--threads", 1, "--max-tokens", 12, "batch_size=4", "warmup_iters=1",
                "lr_decay_iters=2", "eval_interval=2", "learning_rate=5e-5").assertOk();
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals("bert", summary.get("arch").asText());
        assertEquals("mean", summary.get("pooling").asText());
        assertEquals(SourceModel.sha256(onnx), summary.get("source").get("sha256").asText());
        // 22,565,376 encoder parameters (MiniLM without position ids) and a 2-class head on 384 features.
        assertEquals(22_565_376L + 384 * 2 + 2, summary.get("total_parameters").asLong(), summary::toString);
        CliRun predicted = troupe("predict", "--model", out, "--text", "I loved it").assertOk();
        assertTrue(predicted.out().contains("pos") || predicted.out().contains("neg"), predicted::toString);
    }

    @Test
    void aTokenizerWhoseVocabularyDoesNotMatchTheEmbeddingRowsIsRefused() throws Exception {
        Path small = tmp.resolve("tokenizer.json");
        Files.writeString(small, """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
                 "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                                "strip_accents": null, "lowercase": true},
                 "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": null, "decoder": null,
                 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                           "max_input_chars_per_word": 100,
                           "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "good": 4, "bad": 5}}}
                """);
        troupe("finetune", "--from", "onnx:" + onnx, "--tokenizer", small, "--task", "classify", "--data", data(),
                "--out", tmp.resolve("out"), "--steps", 1).assertOneLineError("embedding rows").assertExit(1);
    }

    @Test
    void anOnnxFileThatIsNotABertIsRefusedNamingWhatIsMissing() throws Exception {
        GptConfig gpt = new GptConfig(11, 8, 1, 2, 8, 0.0, true, true);
        Path file = tmp.resolve("gpt.onnx");
        Files.write(file, GptGraphs.inference(gpt, FloatBuffer.wrap(ParameterInit.gpt2(gpt, gpt.layout(), 1))).toBytes());
        troupe("finetune", "--from", "onnx:" + file, "--tokenizer", tokenizer, "--task", "classify", "--data", data(),
                "--out", tmp.resolve("out"), "--steps", 1)
                .assertOneLineError("not a BERT-family encoder: it has no embeddings.word_embeddings.weight")
                .assertExit(1);
    }

    @Test
    void anEncoderNeedsTheClassifyTaskAndATokenizer() throws Exception {
        troupe("finetune", "--from", "onnx:" + onnx, "--tokenizer", tokenizer, "--data", data(),
                "--out", tmp.resolve("a"), "--steps", 1).assertOneLineError("--task classify").assertExit(2);
        troupe("finetune", "--from", "onnx:" + onnx, "--task", "classify", "--data", data(),
                "--out", tmp.resolve("b"), "--steps", 1).assertOneLineError("needs --tokenizer").assertExit(2);
    }
}
