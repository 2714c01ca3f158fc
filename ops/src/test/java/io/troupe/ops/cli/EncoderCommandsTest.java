package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.worker.run.EncoderExport;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe embed} and {@code troupe fill-mask} (with --pll) on encoders, and their bad-input errors. */
class EncoderCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A small BERT WordPiece tokenizer.json: 4 specials and 8 words. */
    static final String TOKENIZER = """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [
               {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
               {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
             "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                            "strip_accents": null, "lowercase": true},
             "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": null, "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                       "max_input_chars_per_word": 100,
                       "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "the": 5, "cat": 6,
                                 "sat": 7, "on": 8, "mat": 9, "dog": 10, ".": 11}}}
            """;

    @TempDir
    Path tmp;

    /** A random tiny MLM encoder exported with the small tokenizer. */
    private Path tinyMlm() throws Exception {
        Path dir = tmp.resolve("mlm");
        Files.createDirectories(dir);
        EncoderConfig cfg = new EncoderConfig(12, 16, 2, 1, 2, 8, 16, 0.0, false, "none", 1e-12, true);
        float[] p = ParameterInit.gpt2(cfg, cfg.layout(), 3);
        Random r = new Random(3);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.3 * r.nextGaussian());
        }
        EncoderExport.write(dir, cfg, p, "2 3", "mean");
        Files.writeString(dir.resolve("tokenizer.json"), TOKENIZER);
        return dir;
    }

    private static CliRun withStdin(String input, Object... args) {
        InputStream old = System.in;
        System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
        try {
            return troupe(args);
        } finally {
            System.setIn(old);
        }
    }

    private static Path resource(Path dir, String name) throws Exception {
        Path out = dir.resolve(name);
        try (InputStream in = EncoderCommandsTest.class.getClassLoader().getResourceAsStream(name)) {
            Files.copy(in, out);
        }
        return out;
    }

    private static double cosine(JsonNode a, JsonNode b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.size(); i++) {
            dot += a.get(i).asDouble() * b.get(i).asDouble();
            na += a.get(i).asDouble() * a.get(i).asDouble();
            nb += b.get(i).asDouble() * b.get(i).asDouble();
        }
        return dot / Math.sqrt(na * nb);
    }

    @Test
    void embedWithMiniLmPutsParaphrasesCloserThanUnrelatedTexts() throws Exception {
        Path onnx = resource(tmp, "all-minilm-l6-v2.onnx");
        Path tok = resource(tmp, "all-minilm-l6-v2-tokenizer.json");
        CliRun run = withStdin("I love this phone.\nThis phone is great, I really like it.\nThe train to Paris was late.\n",
                "embed", "--model", "onnx:" + onnx, "--tokenizer", tok, "--threads", 1).assertOk();
        List<JsonNode> rows = run.out().lines().map(l -> {
            try {
                return JSON.readTree(l);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).toList();
        assertEquals(3, rows.size(), run::toString);
        assertEquals(384, rows.get(0).get("embedding").size());
        double close = cosine(rows.get(0).get("embedding"), rows.get(1).get("embedding"));
        double far = cosine(rows.get(0).get("embedding"), rows.get(2).get("embedding"));
        assertTrue(close > far + 0.2, "paraphrase " + close + " vs unrelated " + far);
        troupe("fill-mask", "--model", "onnx:" + onnx, "--tokenizer", tok, "--text", "The [MASK] sat.")
                .assertOneLineError("no masked-language-model head").assertExit(2);
    }

    @Test
    void fillMaskGivesTopKCandidatesInOrderAndPllScoresTheText() throws Exception {
        Path mlm = tinyMlm();
        CliRun run = troupe("fill-mask", "--model", mlm, "--text", "The [MASK] sat on the mat.", "--top-k", 3, "--json")
                .assertOk();
        JsonNode row = JSON.readTree(run.out().lines().findFirst().orElseThrow());
        JsonNode c = row.get("candidates");
        assertEquals(3, c.size(), run::toString);
        double total = 0;
        for (int i = 0; i < 3; i++) {
            total += c.get(i).get("probability").asDouble();
            if (i > 0) {
                assertTrue(c.get(i - 1).get("probability").asDouble() >= c.get(i).get("probability").asDouble());
            }
        }
        assertTrue(total > 0 && total <= 1.0 + 1e-6, run::toString);
        CliRun a = troupe("fill-mask", "--model", mlm, "--pll", "--text", "the cat sat on the mat.").assertOk();
        CliRun b = troupe("fill-mask", "--model", mlm, "--pll", "--text", "mat the on sat cat the.").assertOk();
        double pa = Double.parseDouble(a.out().strip());
        double pb = Double.parseDouble(b.out().strip());
        assertTrue(pa < 0 && pb < 0 && pa != pb, a + "\n" + b);
    }

    @Test
    void fillMaskRefusesTextWithoutAMaskAndAGptModel() throws Exception {
        Path mlm = tinyMlm();
        troupe("fill-mask", "--model", mlm, "--text", "the cat sat").assertOneLineError("no [MASK]").assertExit(2);
        Path corpus = tmp.resolve("c.txt");
        Files.writeString(corpus, CliRun.TEXT);
        Path gpt = tmp.resolve("gpt");
        CliRun.trainTiny(corpus, gpt, 2).assertOk();
        troupe("fill-mask", "--model", gpt, "--text", "the [MASK] sat").assertOneLineError("is a GPT language model")
                .assertExit(1);
    }
}
