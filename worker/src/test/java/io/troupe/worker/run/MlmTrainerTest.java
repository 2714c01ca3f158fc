package io.troupe.worker.run;

import static io.troupe.worker.run.TinyRun.metrics;
import static io.troupe.worker.run.TinyRun.summary;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.WordPieceTrainer;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code arch = bert} on the one step path: a tiny encoder learns (MLM loss falls, masked-token
 * accuracy rises and is reported in metrics.jsonl and summary.json), exports an encoder, and a
 * run stopped and resumed follows the uninterrupted run bit for bit, masks included.
 */
class MlmTrainerTest {
    @TempDir
    Path tmp;

    /**
     * Sentences from a set of five, in seeded random order: a masked word is predictable from its
     * sentence (a model that learns context beats the unigram guess), unlike TinyRun's i.i.d. words.
     */
    static final String TEXT = text();

    private static String text() {
        String[] sentences = {"the quick brown fox jumps over the lazy dog.", "a king shall not go to war with thee.",
            "my lord and her love say what you will.", "we sat on the mat by the door of the house.",
            "one two three four five six seven eight nine ten."};
        java.util.Random random = new java.util.Random(5);
        StringBuilder text = new StringBuilder();
        while (text.length() < 6000) {
            text.append(sentences[random.nextInt(sentences.length)]).append(' ');
        }
        return text.toString();
    }

    static HfJsonTokenizer tokenizer() {
        PieceCounts words = PieceCounts.bertWords();
        words.add(TEXT);
        return WordPieceTrainer.train(words, 100);
    }

    static Map<String, String> settings(String... changes) {
        return TinyRun.settings(concat(new String[] {"arch=bert", "learning_rate=3e-3", "min_lr=3e-4",
            "weight_decay=0.01"}, changes));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    static TrainSummary train(Path dir, boolean resume, Map<String, String> overrides) throws Exception {
        TrainSettings settings = TrainSettings.load(null, overrides);
        HfJsonTokenizer tokenizer = tokenizer();
        TokenSplit split = TokenSplit.encode(new TextCorpus(dir.resolve("corpus.txt"), TEXT), tokenizer,
                settings.blockSize());
        return new Trainer(settings, tokenizer, split, dir, EngineOptions.cpu(1)).run(resume, TrainListener.SILENT);
    }

    @Test
    void aTinyEncoderLearnsAndReportsMaskedAccuracy() throws Exception {
        Path run = tmp.resolve("run");
        train(run, false, settings("max_iters=80", "lr_decay_iters=80", "eval_interval=40", "eval_iters=8",
                "log_interval=10"));
        List<JsonNode> lines = metrics(run);
        JsonNode first = lines.get(0);
        JsonNode last = lines.get(lines.size() - 1);
        assertEquals(80, last.get("step").asLong());
        double firstAcc = first.get("val_masked_accuracy").asDouble();
        double lastAcc = last.get("val_masked_accuracy").asDouble();
        assertTrue(last.get("val_loss").asDouble() < first.get("val_loss").asDouble() - 0.5,
                "val MLM loss " + first.get("val_loss") + " -> " + last.get("val_loss"));
        assertTrue(lastAcc > firstAcc + 0.1, "masked-token accuracy " + firstAcc + " -> " + lastAcc);
        System.out.println("tiny MLM: val loss " + first.get("val_loss") + " -> " + last.get("val_loss") + ", masked accuracy " + firstAcc + " -> " + lastAcc);
        assertTrue(lines.get(1).get("val_masked_accuracy") == null, "only evaluation lines carry the accuracy");
        JsonNode summary = summary(run);
        assertEquals(lastAcc, summary.get("final_val_masked_accuracy").asDouble(), 1e-12);
        assertEquals("bert", summary.get("config").get("arch").asText());
        String model = new String(Files.readAllBytes(run.resolve("model.onnx")), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(model.contains("troupe.encoder_config") && model.contains("last_hidden_state"),
                "the run exports an encoder");
    }

    @Test
    void aRunStoppedAndResumedFollowsTheUninterruptedRunExactly() throws Exception {
        Map<String, String> full = settings("checkpoint_interval=2", "keep_checkpoints=10", "dropout=0.1");
        Path reference = tmp.resolve("reference");
        train(reference, false, full);
        Path stopped = tmp.resolve("stopped");
        Map<String, String> half = new java.util.HashMap<>(full);
        half.put("max_iters", "4");
        train(stopped, false, half);
        train(stopped, true, full);
        List<JsonNode> a = metrics(reference);
        List<JsonNode> b = metrics(stopped);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String key : List.of("step", "train_loss", "val_loss", "val_masked_accuracy")) {
                assertEquals(String.valueOf(a.get(i).get(key)), String.valueOf(b.get(i).get(key)), key + " of line " + i);
            }
        }
        assertArrayEquals(Files.readAllBytes(new CheckpointStore(reference, 1).pathOf(8)),
                Files.readAllBytes(new CheckpointStore(stopped, 1).pathOf(8)));
        assertArrayEquals(Files.readAllBytes(reference.resolve("model.onnx")),
                Files.readAllBytes(stopped.resolve("model.onnx")));
    }
}
