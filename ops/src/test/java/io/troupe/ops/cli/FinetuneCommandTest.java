package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.TINY;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.source.DataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe finetune}, and the classifier it makes through eval, predict and generate. */
class FinetuneCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    private static Path pretrained;
    private static Path labelled;
    private static Path classifier;
    private static CliRun classifierRun;

    @TempDir
    Path tmp;

    @BeforeAll
    static void pretrainAndFineTuneOnce() throws Exception {
        Path corpus = shared.resolve("corpus.txt");
        Files.writeString(corpus, TEXT);
        pretrained = shared.resolve("pretrained");
        trainTiny(corpus, pretrained, 4).assertOk();
        labelled = shared.resolve("labelled.tsv");
        Files.writeString(labelled, labelledText(60, 1));
        classifier = shared.resolve("classifier");
        classifierRun = troupe("finetune", "--from", pretrained, "--task", "classify", "--data", labelled, "--out",
                classifier, "--steps", 6, "--threads", 1, TINY).assertOk();
    }

    /** Sentences over the corpus's words, labelled "pos" when they mention love. */
    private static String labelledText(int n, long seed) {
        String[] words = {"the", "king", "queen", "shall", "not", "go", "to", "war", "with", "thee", "my", "lord"};
        Random r = new Random(seed);
        StringBuilder s = new StringBuilder("text\tlabel\n");
        for (int i = 0; i < n; i++) {
            StringBuilder line = new StringBuilder();
            for (int w = 0; w < 3; w++) {
                line.append(words[r.nextInt(words.length)]).append(' ');
            }
            boolean pos = i % 2 == 0;
            line.append(pos ? "love" : "war");
            s.append(line).append('\t').append(pos ? "pos" : "neg").append('\n');
        }
        return s.toString();
    }

    @Test
    void classifyWritesTheModelItsLabelsAndASummaryThatNamesTheSource() throws Exception {
        assertTrue(classifierRun.out().startsWith("trainable parameters: "), classifierRun.toString());
        assertTrue(classifierRun.out().contains("validation ("), classifierRun.toString());
        assertTrue(classifierRun.out().contains("confusion matrix"), classifierRun.toString());
        for (String file : List.of("model.onnx", "tokenizer.json", "labels.json", "summary.json")) {
            assertTrue(Files.isRegularFile(classifier.resolve(file)), file);
        }
        JsonNode summary = JSON.readTree(classifier.resolve("summary.json").toFile());
        assertEquals("classify", summary.get("task").asText());
        assertEquals(List.of("neg", "pos"), JSON.convertValue(summary.get("labels"), List.class));
        assertEquals(DataSource.sha256(pretrained.resolve("model.onnx")), summary.get("source").get("sha256").asText());
        long total = summary.get("total_parameters").asLong();
        assertEquals(total, summary.get("trainable_parameters").asLong(), "full fine-tuning trains everything");
        assertTrue(summary.get("val_accuracy").asDouble() >= 0 && summary.get("val_accuracy").asDouble() <= 1);
        assertEquals(60, summary.get("examples").asInt());
        String card = Files.readString(classifier.resolve("MODEL_CARD.md"));
        assertTrue(card.contains("classification head") && card.contains("val_accuracy"), card);

        // classify fine-tunes at 3e-4, not at the preset's pretraining rate of 1e-3.
        assertEquals(3e-4, summary.get("config").get("learning_rate").asDouble(), 1e-12);
        assertEquals(3e-5, summary.get("config").get("min_lr").asDouble(), 1e-12);
    }

    @Test
    void evalScoresAClassifierAsJsonAndAsATable() throws Exception {
        Path test = tmp.resolve("test.tsv");
        Files.writeString(test, labelledText(20, 2));
        CliRun json = troupe("eval", "--model", classifier, "--data", test, "--task", "classify", "--json").assertOk();
        JsonNode report = JSON.readTree(json.out());
        assertTrue(report.has("accuracy") && report.has("macro_f1") && report.has("per_class"), json.toString());
        long sum = 0;
        for (JsonNode row : report.get("confusion")) {
            for (JsonNode v : row) {
                sum += v.asLong();
            }
        }
        assertEquals(20, sum, "every example lands in one cell of the confusion matrix");
        assertEquals(10, report.get("per_class").get("pos").get("support").asInt());
        CliRun table = troupe("eval", "--model", classifier, "--data", test, "--task", "classify").assertOk();
        assertTrue(table.out().startsWith("accuracy "), table.toString());
        assertTrue(table.out().contains("confusion matrix (rows gold, columns predicted)"), table.toString());
    }

    @Test
    void predictPrintsTheLabelAndEveryProbability() throws Exception {
        CliRun text = troupe("predict", "--model", classifier, "--text", "my lord shall love thee").assertOk();
        assertTrue(text.out().matches("(pos|neg)\tneg=0\\.\\d{4} pos=0\\.\\d{4}\\R"), text.toString());
        CliRun json = troupe("predict", "--model", classifier, "--text", "war", "--json").assertOk();
        JsonNode o = JSON.readTree(json.out());
        double p = o.get("probabilities").get("neg").asDouble() + o.get("probabilities").get("pos").asDouble();
        assertEquals(1.0, p, 1e-5);
    }

    @Test
    void generateAndLanguageModelEvalRefuseAClassifier() throws Exception {
        troupe("generate", "--model", classifier, "--tokens", 5).assertOneLineError("is a text classifier");
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, TEXT.substring(0, 200));
        troupe("eval", "--model", classifier, "--data", text).assertOneLineError("is a text classifier");
        troupe("predict", "--model", pretrained, "--text", "war").assertOneLineError("is a language model");
    }

    @Test
    void aLinearProbeTrainsOnlyTheHeadAndCrossValidationReportsMeanAndStd() throws Exception {
        Path out = tmp.resolve("probe");
        CliRun run = troupe("finetune", "--from", pretrained, "--task", "classify", "--train", "head", "--folds", 2,
                "--data", labelled, "--out", out, "--steps", 3, "--threads", 1, TINY).assertOk();
        assertTrue(run.out().contains("2-fold cross-validation: accuracy "), run.toString());
        assertTrue(run.out().contains("± "), run.toString());
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(16 * 2 + 2, summary.get("trainable_parameters").asLong(), "cls.weight [16, 2] and cls.bias [2]");
        assertEquals(2, summary.get("folds").size());
        assertTrue(summary.get("cv_accuracy").has("std"), summary.toString());
        assertEquals(3e-4, summary.get("config").get("learning_rate").asDouble(), 1e-12);
        Path set = tmp.resolve("probe-lr");
        CliRun jsonRun = troupe("finetune", "--from", pretrained, "--task", "classify", "--train", "head", "--folds", 2,
                "--data", labelled, "--out", set, "--steps", 2, "--threads", 1, "--json", TINY, "learning_rate=2e-3")
                .assertOk();
        JsonNode lastEval = null;
        for (String line : jsonRun.out().split("\n")) {
            JsonNode event = JSON.readTree(line);
            if (event.path("event").asText().equals("eval")) {
                lastEval = event;
            }
        }
        assertTrue(lastEval != null, "every fold's evaluations are JSON events: " + jsonRun);
        assertEquals(2, lastEval.get("fold").asInt(), lastEval.toString());
        assertEquals(2, lastEval.get("folds").asInt(), lastEval.toString());
        assertEquals(2, lastEval.get("step").asLong(), lastEval.toString());
        assertTrue(lastEval.get("val_loss").isNumber(), lastEval.toString());
        JsonNode own = JSON.readTree(set.resolve("summary.json").toFile());
        assertEquals(2e-3, own.get("config").get("learning_rate").asDouble(), 1e-12, "a key=value setting wins");
    }

    @Test
    void languageModelFineTuningFromARunWithFrozenEmbeddingsExportsAModel() throws Exception {
        Path corpus = tmp.resolve("new.txt");
        Files.writeString(corpus, TEXT.substring(1000) + TEXT.substring(0, 1000));
        Path out = tmp.resolve("lm");
        CliRun run = troupe("finetune", "--from", pretrained, "--data", corpus, "--out", out, "--freeze", "embeddings",
                "--steps", 2, "--threads", 1, TINY).assertOk();
        assertTrue(run.out().contains("embeddings frozen"), run.toString());
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals("lm", summary.get("task").asText());
        assertTrue(summary.get("trainable_parameters").asLong() < summary.get("total_parameters").asLong());
        assertTrue(Files.isRegularFile(out.resolve("model.onnx")));
        troupe("generate", "--model", out, "--tokens", 5, "--prompt", "the").assertOk();
        // Its checkpoints hold only the trained part: export must say so, not call them corrupt.
        try (var files = Files.list(out.resolve("checkpoints"))) {
            assertTrue(files.findAny().isPresent(), "the fine-tuning run saved a checkpoint");
        }
        Path exported = tmp.resolve("exported");
        troupe("export", "--run", out, "--out", exported).assertOneLineError("troupe finetune checkpoint")
                .assertOneLineError("troupe finetune --resume").assertExit(TroupeCli.EXIT_FAILURE);
        assertFalse(Files.exists(exported), "nothing written");
    }

    @Test
    void badSourcesAndSettingsGetOneLineErrorsAndLeaveNoRunBehind() throws Exception {
        Path notARun = Files.createDirectories(tmp.resolve("empty"));
        Path out = tmp.resolve("out");
        troupe("finetune", "--from", notARun, "--task", "classify", "--data", labelled, "--out", out, TINY)
                .assertOneLineError("is not a troupe run").assertExit(1);
        troupe("finetune", "--from", pretrained, "--task", "classify", "--freeze", "3", "--data", labelled, "--out", out,
                TINY).assertOneLineError("cannot freeze 3 blocks: the model has 1").assertExit(2);
        troupe("finetune", "--from", "none", "--task", "classify", "--data", labelled, "--out", out, TINY)
                .assertOneLineError("--preset").assertExit(2);
        Path single = tmp.resolve("single.tsv");
        Files.writeString(single, "a king\tpos\nthe queen\tpos\n");
        troupe("finetune", "--from", pretrained, "--task", "classify", "--data", single, "--out", out, TINY)
                .assertOneLineError("single class").assertExit(1);
        troupe("finetune", "--from", pretrained, "--task", "translate", "--data", labelled, "--out", out, TINY)
                .assertExit(2);
        troupe("finetune", "--from", pretrained, "--train", "head", "--data", labelled, "--out", out, TINY)
                .assertOneLineError("--task classify").assertExit(2);
        assertFalse(Files.exists(out), "no failed command created the run directory");
    }

    @Test
    void loraTrainsOnlyAdaptersAndTheHeadAndExportsAMergedModelWithItsAdapter() throws Exception {
        Path out = tmp.resolve("lora");
        CliRun run = troupe("finetune", "--from", pretrained, "--task", "classify", "--lora-rank", 2, "--lora-targets",
                "attn,mlp", "--data", labelled, "--out", out, "--steps", 3, "--threads", 1, TINY).assertOk();
        assertTrue(run.out().contains("LoRA r=2"), run.toString());
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        // One block of C=16: c_attn 16x2 + 2x48, c_fc 16x2 + 2x64, mlp.c_proj 64x2 + 2x16; head 16x2 + 2.
        assertEquals(128 + 160 + 160 + 34, summary.get("trainable_parameters").asLong());
        assertEquals(2, summary.get("lora").get("rank").asInt());
        // LoRA keeps the preset's 1e-3: its adapters start at zero and learn faster at it.
        assertEquals(1e-3, summary.get("config").get("learning_rate").asDouble(), 1e-12);
        assertTrue(Files.size(out.resolve("adapter.safetensors")) < Files.size(out.resolve("model.onnx")) / 4);
        troupe("predict", "--model", out, "--text", "thee war").assertOk();

        Path lm = tmp.resolve("lora-lm");
        Path corpus = tmp.resolve("c.txt");
        Files.writeString(corpus, TEXT);
        troupe("finetune", "--from", pretrained, "--data", corpus, "--out", lm, "--lora-rank", 2, "--steps", 2,
                "--threads", 1, TINY).assertOk();
        assertTrue(Files.isRegularFile(lm.resolve("adapter.safetensors")));
        troupe("generate", "--model", lm, "--tokens", 5, "--prompt", "the").assertOk();
    }

    @Test
    void loraRankZeroAndLoraWithFreezingAreRefused() {
        Path out = tmp.resolve("out");
        troupe("finetune", "--from", pretrained, "--task", "classify", "--lora-rank", 0, "--data", labelled, "--out", out,
                TINY).assertOneLineError("--lora-rank must be >= 1").assertExit(2);
        troupe("finetune", "--from", pretrained, "--task", "classify", "--lora-rank", 4, "--freeze", "1", "--data",
                labelled, "--out", out, TINY).assertOneLineError("drop --freeze").assertExit(2);
        troupe("finetune", "--from", pretrained, "--task", "classify", "--lora-alpha", 8, "--data", labelled, "--out",
                out, TINY).assertOneLineError("pass --lora-rank").assertExit(2);
        assertFalse(Files.exists(out));
    }

    @Test
    void fromNoneTrainsTheScratchBaselineWithTheSameRecipe() throws Exception {
        Path out = tmp.resolve("scratch");
        troupe("finetune", "--from", "none", "--preset", "shakespeare-char-small", "--task", "classify", "--data",
                labelled, "--out", out, "--steps", 2, "--threads", 1, TINY).assertOk();
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals("none", summary.get("source").get("from").asText());
        assertFalse(summary.get("source").has("sha256"));
        assertEquals(16, summary.get("config").get("n_embd").asInt());
    }

    @Test
    void aBodyLearningRateScaleOfZeroLeavesTheBodyAsItWasAndTrainsTheHead() throws Exception {
        Path corpus = tmp.resolve("new.txt");
        Files.writeString(corpus, TEXT.substring(500) + TEXT.substring(0, 500));
        Path out = tmp.resolve("lm-disc");
        troupe("finetune", "--from", pretrained, "--data", corpus, "--out", out, "--steps", 3, "--threads", 1, TINY,
                "lr_body_scale=0").assertOk();
        SourceModel before = SourceModel.load(pretrained.toString());
        SourceModel after = SourceModel.load(out.toString());
        var layout = io.troupe.model.gpt.ParameterLayout.of(before.config());
        int head = Math.toIntExact(layout.view("ln_f.weight").offset());
        assertArrayEquals(java.util.Arrays.copyOf(before.parameters(), head),
                java.util.Arrays.copyOf(after.parameters(), head), "embeddings and blocks did not move");
        assertFalse(java.util.Arrays.equals(before.parameters(), after.parameters()), "ln_f (the head) trained");
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(0.0, summary.get("config").get("lr_body_scale").asDouble());
        assertTrue(Files.readString(out.resolve("MODEL_CARD.md")).contains("discriminative rates: body at 0.0 x lr"),
                "the card says how the run was trained");
    }

    @Test
    void earlyStoppingChoosesOnAShareOfTheTrainingPartAndScratchCanShareTheSourcesTokenizer() throws Exception {
        Path out = tmp.resolve("scratch-es");
        CliRun run = troupe("finetune", "--from", "none", "--preset", "shakespeare-char-small", "--tokenizer",
                pretrained, "--task", "classify", "--early-stop", "--folds", 2, "--data", labelled, "--out", out,
                "--steps", 4, "--threads", 1, TINY).assertOk(); // TINY evaluates every 2 steps
        assertTrue(run.out().contains("2-fold cross-validation"), run.toString());
        // A fold is not silent until it ends: every evaluation (steps 2 and 4 of each fold) is a line.
        for (String line : List.of("fold 1/2 step 2/4: train loss ", "fold 1/2 step 4/4: ", "fold 2/2 step 2/4: ",
                "fold 2/2 step 4/4: ")) {
            assertTrue(run.out().contains(line), line + " in " + run);
        }
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertTrue(summary.get("early_stop").asBoolean());
        JsonNode source = JSON.readTree(pretrained.resolve("summary.json").toFile());
        assertEquals(source.get("config").get("vocab_size").asInt(), summary.get("config").get("vocab_size").asInt(),
                "the scratch model has the pretrained model's vocabulary, not one built from the labelled texts");
        for (JsonNode fold : summary.get("folds")) {
            long kept = fold.get("kept_step").asLong();
            assertTrue(kept == 2 || kept == 4, fold.toString());
        }
        Path single = tmp.resolve("single-es");
        troupe("finetune", "--from", pretrained, "--task", "classify", "--early-stop", "--data", labelled, "--out",
                single, "--steps", 2, "--threads", 1, TINY).assertOk();
        JsonNode one = JSON.readTree(single.resolve("summary.json").toFile());
        // 60 examples, 30 a class: 3 + 3 held out for the report, 3 + 3 of the other 54 choose, 48 train.
        assertEquals(6, one.get("val_examples").asInt());
        assertEquals(6, one.get("selection_examples").asInt());
        assertEquals(48, one.get("train_examples").asInt());

        Path bad = tmp.resolve("bad");
        troupe("finetune", "--from", pretrained, "--tokenizer", pretrained, "--task", "classify", "--data", labelled,
                "--out", bad, TINY).assertOneLineError("--tokenizer applies to --from none").assertExit(2);
        troupe("finetune", "--from", pretrained, "--early-stop", "--data", labelled, "--out", bad, TINY)
                .assertOneLineError("--early-stop applies to --task classify").assertExit(2);
        troupe("finetune", "--from", pretrained, "--task", "classify", "--data", labelled, "--out", bad, TINY,
                "lr_layer_decay=2").assertOneLineError("lr_layer_decay").assertExit(2);
        assertFalse(Files.exists(bad));
    }
    @Test
    void aClassifierRunIsContinuedWithItsHeadBodyAndLabelsAndARateOfZeroChangesNoWeight() throws Exception {
        SourceModel source = SourceModel.load(classifier.toString(), true);
        assertEquals(List.of("neg", "pos"), source.classifier().labels().names());
        // Feedback often names one class only: fine when continuing, since the run fixes the label set.
        Path onlyPos = tmp.resolve("only-pos.jsonl");
        Files.writeString(onlyPos, "{\"text\": \"the king shall love\", \"label\": \"pos\"}\n"
                + "{\"text\": \"thee my lord love\", \"label\": \"pos\"}\n"
                + "{\"id\": \"cmpl-1\", \"rating\": 3, \"train\": false}\n"
                + "{\"text\": \"to go with love\", \"label\": \"pos\"}\n");
        Path frozen = tmp.resolve("same");
        troupe("finetune", "--from", classifier, "--task", "classify", "--data", onlyPos, "--out", frozen, "--steps", 2,
                "--threads", 1, TINY, "learning_rate=0", "min_lr=0").assertOk();
        SourceModel same = SourceModel.load(frozen.toString(), true);
        assertArrayEquals(source.parameters(), same.parameters(), "no fresh head: at rate 0 the export is the run's");
        assertEquals(source.classifier(), same.classifier());

        Path continued = tmp.resolve("continued");
        troupe("finetune", "--from", classifier, "--task", "classify", "--data", onlyPos, "--out", continued, "--steps", 3,
                "--threads", 1, TINY, "learning_rate=1e-2", "min_lr=1e-3").assertOk();
        SourceModel after = SourceModel.load(continued.toString(), true);
        var layout = io.troupe.model.gpt.ClassifierGraphs.layout(source.config(), source.classifier().head());
        int head = Math.toIntExact(layout.view("cls.weight").offset());
        assertFalse(java.util.Arrays.equals(java.util.Arrays.copyOf(source.parameters(), head),
                java.util.Arrays.copyOf(after.parameters(), head)), "the body trained");
        assertFalse(java.util.Arrays.equals(source.parameters(), after.parameters()), "the head trained");
        JsonNode summary = JSON.readTree(continued.resolve("summary.json").toFile());
        assertTrue(summary.get("continued_classifier").asBoolean(), summary.toString());
        assertEquals(List.of("neg", "pos"), JSON.convertValue(summary.get("labels"), List.class));
        assertEquals(DataSource.sha256(classifier.resolve("model.onnx")), summary.get("source").get("sha256").asText());
        assertEquals("[\"neg\",\"pos\"]", JSON.writeValueAsString(JSON.readTree(continued.resolve("labels.json")
                .toFile()).get("labels")), "the label set, in the head's order");

        Path bad = tmp.resolve("bad-continue");
        Path unknown = tmp.resolve("unknown.tsv");
        Files.writeString(unknown, "the king love\tpos\nmy lord war\tangry\n");
        troupe("finetune", "--from", classifier, "--task", "classify", "--data", unknown, "--out", bad, TINY)
                .assertOneLineError("unknown.tsv:2: unknown label 'angry'").assertOneLineError("its labels are [neg, pos]")
                .assertExit(1);
        troupe("finetune", "--from", classifier, "--task", "classify", "--pooling", "mean", "--data", onlyPos, "--out",
                bad, TINY).assertOneLineError("drop --pooling to continue it").assertExit(2);
        Path corpus = Files.writeString(tmp.resolve("c.txt"), TEXT);
        troupe("finetune", "--from", classifier, "--data", corpus, "--out", bad, TINY)
                .assertOneLineError("is a fine-tuned classifier; continue it with finetune --task classify").assertExit(1);
        assertFalse(Files.exists(bad));
    }
}
