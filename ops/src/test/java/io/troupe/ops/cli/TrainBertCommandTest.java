package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.WordPieceTrainer;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code troupe train --arch bert} end to end: a text file with a WordPiece tokenizer.json,
 * locally and with {@code --workers 2}; the run directory then works with {@code fill-mask},
 * {@code embed} and {@code finetune --from RUN --task classify}; bad input gets one line.
 */
class TrainBertCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Object[] TINY = {"--preset", "bert-tiny", "--threads", 1, "n_layer=1", "n_embd=16",
        "block_size=16", "batch_size=4", "eval_iters=2", "log_interval=5"};

    @TempDir
    static Path shared;
    private static Path corpus;
    private static Path tokenizer;
    private static Path run;

    @TempDir
    Path tmp;

    private static String text() {
        String[] sentences = {"the cat sat on the mat.", "the dog sat on the mat.", "a king shall go to war.",
            "my lord and her love."};
        Random r = new Random(3);
        StringBuilder s = new StringBuilder();
        while (s.length() < 5000) {
            s.append(sentences[r.nextInt(sentences.length)]).append(' ');
        }
        return s.toString();
    }

    @BeforeAll
    static void trainOnce() throws Exception {
        corpus = shared.resolve("corpus.txt");
        Files.writeString(corpus, text());
        PieceCounts words = PieceCounts.bertWords();
        words.add(text());
        Path tokDir = shared.resolve("tok");
        Files.createDirectories(tokDir);
        tokenizer = WordPieceTrainer.train(words, 60).save(tokDir);
        run = shared.resolve("run");
        troupe(concat("train", "--arch", "bert", "--data", corpus, "--tokenizer", tokenizer, "--out", run, "--steps", 20,
                "eval_interval=10")).assertOk();
    }

    @Test
    void aLocalRunReportsMaskedAccuracyAndExportsAnEncoder() throws Exception {
        JsonNode summary = JSON.readTree(run.resolve("summary.json").toFile());
        assertEquals("bert", summary.get("config").get("arch").asText());
        double acc = summary.get("final_val_masked_accuracy").asDouble();
        assertTrue(acc >= 0 && acc <= 1, "accuracy " + acc);
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertTrue(JSON.readTree(lines.get(lines.size() - 1)).has("val_masked_accuracy"), lines.get(lines.size() - 1));
    }

    @Test
    void theRunDirectoryWorksWithFillMaskEmbedAndFinetune() throws Exception {
        CliRun fill = troupe("fill-mask", "--model", run, "--text", "the cat [MASK] on the mat.", "--top-k", 3, "--json")
                .assertOk();
        assertTrue(fill.out().contains("score") || fill.out().contains("token"), fill.out());
        CliRun embed = withStdin("the cat sat\nthe dog sat\n", "embed", "--model", run).assertOk();
        assertEquals(2, embed.out().strip().split("\n").length, embed.out());
        Path labelled = tmp.resolve("labelled.tsv");
        StringBuilder s = new StringBuilder("text\tlabel\n");
        for (int i = 0; i < 40; i++) {
            s.append(i % 2 == 0 ? "the cat sat on the mat\tpos\n" : "a king shall go to war\tneg\n");
        }
        Files.writeString(labelled, s);
        Path ft = tmp.resolve("ft");
        troupe("finetune", "--from", run, "--task", "classify", "--data", labelled, "--out", ft, "--steps", 4,
                "--threads", 1, "batch_size=4", "eval_interval=4", "eval_iters=1").assertOk();
        JsonNode summary = JSON.readTree(ft.resolve("summary.json").toFile());
        assertTrue(summary.toString().contains(run.resolve("model.onnx").toString()), "the source is the run's export");
    }

    @Test
    void twoEmbeddedWorkersTrainTheSameRun() throws Exception {
        Path two = tmp.resolve("two");
        CliRun twoWorkers = troupe(concat("train", "--arch", "bert", "--data", corpus, "--tokenizer", tokenizer, "--out",
                two, "--steps", 6, "--workers", 2, "eval_interval=6")).assertOk();
        assertTrue(Files.isRegularFile(two.resolve("model.onnx")));
        troupe("fill-mask", "--model", two, "--text", "the [MASK] sat.").assertOk();
        // The workers' masked-token counts reach the coordinator's log line, metrics.jsonl and summary.json.
        assertTrue(twoWorkers.out().contains("step 6: val masked-token accuracy "), twoWorkers.out());
        double acc = JSON.readTree(two.resolve("summary.json").toFile()).get("final_val_masked_accuracy").asDouble(-1);
        assertTrue(acc >= 0 && acc <= 1, "accuracy " + acc);
        List<String> lines = Files.readAllLines(two.resolve("metrics.jsonl"));
        JsonNode last = JSON.readTree(lines.get(lines.size() - 1));
        assertEquals(6, last.get("step").asLong(), last.toString());
        assertEquals(acc, last.get("val_masked_accuracy").asDouble(-1), 0, last.toString());
    }

    @Test
    void aTextFileWithoutAWordPieceTokenizerIsRefusedInOneLine() {
        troupe(concat("train", "--arch", "bert", "--data", corpus, "--out", tmp.resolve("x"), "--steps", 2))
                .assertOneLineError("prepare --tokenizer wordpiece");
        troupe(concat("train", "--arch", "albert", "--data", corpus, "--out", tmp.resolve("y"), "--steps", 2))
                .assertOneLineError("--arch must be gpt or bert").assertExit(2);
        // troupe export rebuilds GPTs from checkpoints; an encoder run's checkpoint is refused by name.
        troupe("export", "--run", run, "--out", tmp.resolve("exported")).assertOneLineError("is of an encoder");
    }

    private static Object[] concat(Object... head) {
        Object[] all = new Object[head.length + TINY.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(TINY, 0, all, head.length, TINY.length);
        return all;
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
}
