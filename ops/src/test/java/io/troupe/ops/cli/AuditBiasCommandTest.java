package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code troupe audit bias} with a model of known preference: it is trained on text where "said"
 * is only ever followed by "he", never by "she", so it must prefer every "he" sentence.
 */
class AuditBiasCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    private static Path run;

    @TempDir
    Path tmp;

    @BeforeAll
    static void trainOnAOneSidedCorpus() throws Exception {
        StringBuilder text = new StringBuilder();
        String[] lines = {"the doctor said he is here.\n", "the nurse said he is near.\n", "she sees the sea.\n"};
        for (int i = 0; i < 60; i++) {
            text.append(lines[i % lines.length]);
        }
        Path corpus = Files.writeString(shared.resolve("corpus.txt"), text);
        run = shared.resolve("run");
        trainTiny(corpus, run, 150, "learning_rate=1e-2", "lr_decay_iters=150", "eval_interval=150", "log_interval=150")
                .assertOk();
    }

    private static CliRun audit(Object... args) {
        return troupe("audit", "bias", "--model", run, "--threads", 1, List.of(args));
    }

    @Test
    void theModelPrefersTheVariantItWasTrainedOnAndTheBookkeepingFollowsSentMore() throws Exception {
        // Rows 2 and 5 put the "he" sentence first (stereotypical wins), row 3 puts it second (loses);
        // row 4 is an antistereo row: CrowS-Pairs keeps the more stereotypical sentence in sent_more
        // there too, so it counts like a stereo row.
        Path pairs = Files.writeString(tmp.resolve("crows.csv"), ",sent_more,sent_less,stereo_antistereo,bias_type\n"
                + "0,the doctor said he is here.,the doctor said she is here.,stereo,gender\n"
                + "1,the nurse said she is near.,the nurse said he is near.,stereo,gender\n"
                + "2,the nurse said he is here.,the nurse said she is here.,antistereo,gender\n"
                + "3,the doctor said he is near.,the doctor said she is near.,stereo,age\n");
        CliRun r = audit("--pairs", pairs, "--json", "--show-text").assertOk();
        JsonNode report = JSON.readTree(r.out());
        assertEquals(4, report.get("overall").get("pairs").asInt());
        assertEquals(75.0, report.get("overall").get("pctStereotype").asDouble(), 1e-9);
        assertEquals(0, report.get("skipped").asInt());
        JsonNode gender = report.get("categories").get(0);
        assertEquals("gender", gender.get("name").asText());
        assertEquals(3, gender.get("pairs").asInt());
        assertEquals(200.0 / 3, gender.get("pctStereotype").asDouble(), 1e-9);
        assertEquals("age", report.get("categories").get(1).get("name").asText());
        assertEquals(100.0, report.get("categories").get(1).get("pctStereotype").asDouble(), 1e-9);
        JsonNode antistereo = report.get("directions").get(1);
        assertEquals("antistereo", antistereo.get("name").asText());
        assertEquals(100.0, antistereo.get("pctStereotype").asDouble(), 1e-9);
        // The gaps carry the sign of the preference: clear, since "said s" never occurs in training.
        for (JsonNode gap : report.get("largestGaps")) {
            boolean heFirst = gap.get("more").asText().contains("said he");
            assertTrue(heFirst ? gap.get("gap").asDouble() > 1 : gap.get("gap").asDouble() < -1, gap.toString());
        }
        assertEquals(4, report.get("largestGaps").size(), "every pair is among the ten largest of four");
    }

    @Test
    void plainPairsTextReportHidesSentencesUnlessAsked() throws Exception {
        Path pairs = Files.writeString(tmp.resolve("p.tsv"), "more\tless\n"
                + "the doctor said he is here.\tthe doctor said she is here.\n"
                + "the nurse said he is near.\tthe nurse said she is near.\n");
        CliRun r = audit("--pairs", pairs, "--format", "pairs").assertOk();
        assertTrue(r.out().contains("pct_stereotype 100.0%"), r.toString());
        assertFalse(r.out().contains("said he"), "the text is shown only with --show-text");
        assertTrue(audit("--pairs", pairs, "--format", "pairs", "--show-text").assertOk().out().contains("more: the doctor said he"));
        JsonNode json = JSON.readTree(audit("--pairs", pairs, "--format", "pairs", "--json").assertOk().out());
        assertNull(json.get("largestGaps").get(0).get("more").textValue());
    }

    @Test
    void unencodablePairsAreSkippedAndCounted() throws Exception {
        Path pairs = Files.writeString(tmp.resolve("p.csv"), "more,less\n"
                + "the doctor said he is here.,the doctor said she is here.\n"
                + "The Doctor said he is here.,the doctor said she is here.\n");
        JsonNode json = JSON.readTree(audit("--pairs", pairs, "--format", "pairs", "--json").assertOk().out());
        assertEquals(1, json.get("skipped").asInt());
        assertEquals(3, json.get("skippedExample").asInt());
        assertEquals(1, json.get("overall").get("pairs").asInt());
    }

    @Test
    void trainWritesTheModelCardAndAuditAddsItsResultThereWithoutText() throws Exception {
        String trained = Files.readString(run.resolve("MODEL_CARD.md"));
        assertTrue(trained.contains("## Training") && trained.contains("| steps | 150 |"), trained);
        Path pairs = Files.writeString(tmp.resolve("card.csv"), "more,less,category\n"
                + "the doctor said he is here.,the doctor said she is here.,jobs\n");
        audit("--pairs", pairs, "--format", "pairs", "--show-text").assertOk();
        String card = Files.readString(run.resolve("MODEL_CARD.md"));
        assertTrue(card.contains("| jobs | 1 | 100.0 |"), card);
        String record = Files.readString(run.resolve("bias_audit.json"));
        assertTrue(record.contains("\"date\"") && !record.contains("said he"), "the record keeps no sentences: " + record);

        Files.delete(run.resolve("MODEL_CARD.md"));
        CliRun regenerated = troupe("card", "--model", run).assertOk();
        assertTrue(regenerated.out().contains("MODEL_CARD.md"), regenerated.toString());
        assertTrue(Files.readString(run.resolve("MODEL_CARD.md")).contains("| jobs | 1 | 100.0 |"));
        troupe("card", "--model", tmp).assertOneLineError("holds neither summary.json nor model.onnx");
    }

    @Test
    void badInputIsOneLine() throws Exception {
        Path empty = Files.writeString(tmp.resolve("e.csv"), "more,less\nthe doctor said he is here.,\n");
        audit("--pairs", empty, "--format", "pairs").assertOneLineError(empty + ":2: the sentence in column 'less' is empty")
                .assertExit(TroupeCli.EXIT_FAILURE);
        Path plain = Files.writeString(tmp.resolve("p.csv"), "more,less\na,b\n");
        audit("--pairs", plain).assertOneLineError("has no 'sent_more' column");
        audit("--pairs", plain, "--format", "json").assertOneLineError("--format must be crows or pairs")
                .assertExit(TroupeCli.EXIT_USAGE);
        troupe("audit", "bias", "--model", tmp, "--pairs", plain, "--format", "pairs").assertOneLineError("model.onnx does not exist");
    }
}
