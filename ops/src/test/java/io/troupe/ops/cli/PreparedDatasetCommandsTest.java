package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.TINY;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dataset prepared with {@code --tokenizer gpt2} goes through every command that takes
 * {@code --data}: train locally and on an embedded 2-worker cluster, a coordinator with two
 * joining workers, tune with 2-worker trials, and eval.
 */
class PreparedDatasetCommandsTest {
    /** Tiny Shakespeare when the shared data is next to the repository, else the tests' own text. */
    private static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    private static Path dataset;
    private static String manifestSha256;

    @TempDir
    Path tmp;

    @BeforeAll
    static void prepareGpt2Dataset() throws Exception {
        Path input = Files.createDirectories(shared.resolve("input"));
        String text = Files.isRegularFile(SHAKESPEARE)
                ? Files.readString(SHAKESPEARE, StandardCharsets.UTF_8).substring(0, 8000) : TEXT + TEXT;
        Files.writeString(input.resolve("text.txt"), text);
        dataset = shared.resolve("gpt2");
        // Documents of 400 bytes, so that some land in val; near-dup detection off for the repetitive fallback text.
        troupe("prepare", "--input", input, "--out", dataset, "--tokenizer", "gpt2", "--val-fraction", "0.3",
                "--threads", 1, "text_document_bytes=400", "near_dedup=false", "--json").assertOk();
        manifestSha256 = sha256(Files.readAllBytes(dataset.resolve("manifest.json")));
    }

    @Test
    void trainWithTwoWorkersTrainsOnTheDatasetAndNamesItInTheSummary() throws Exception {
        Path out = tmp.resolve("run");
        CliRun run = trainTiny(dataset, out, 4, "--workers", "2").assertOk();
        assertTrue(run.out().contains("done: 4 steps"), run.toString());

        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(2, summary.get("workers").asInt(), summary.toString());
        assertEquals(dataset.toAbsolutePath().toString(), summary.at("/data/path").asText(), summary.toString());
        assertEquals("dataset", summary.at("/data/kind").asText());
        assertEquals(manifestSha256, summary.at("/data/sha256").asText());
        assertEquals(50257, summary.at("/config/vocab_size").asInt());
        assertEquals("gpt2", summary.at("/config/tokenizer").asText());
        assertTrue(Files.readString(out.resolve("tokenizer.json")).contains("gpt2"));
    }

    @Test
    void aCoordinatorAndTwoJoiningWorkersTrainOnTheDataset() throws Exception {
        Path out = tmp.resolve("run");
        StringWriter coordinatorOut = new StringWriter();
        List<String> args = new ArrayList<>(List.of("coordinator", "--bind", "127.0.0.1:0", "--workers", "2",
                "--data", dataset.toString(), "--out", out.toString(), "--steps", "3"));
        args.addAll(TINY);
        CompletableFuture<Integer> coordinator = CompletableFuture.supplyAsync(() -> TroupeCli.commandLine()
                .setOut(new PrintWriter(coordinatorOut, true)).setErr(new PrintWriter(new StringWriter()))
                .execute(args.toArray(String[]::new)));
        String join = null;
        for (int i = 0; i < 600 && join == null && !coordinator.isDone(); i++) {
            Matcher m = Pattern.compile("troupe worker --join (\\S+)").matcher(coordinatorOut.toString());
            join = m.find() ? m.group(1) : null;
            Thread.sleep(100);
        }
        assertTrue(join != null, "the coordinator did not announce its address: " + coordinatorOut);
        String address = join;
        List<CompletableFuture<CliRun>> workers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            workers.add(CompletableFuture.supplyAsync(() -> troupe("worker", "--join", address, "--threads", 1)));
        }
        assertEquals(TroupeCli.EXIT_OK, coordinator.get(180, TimeUnit.SECONDS), coordinatorOut::toString);
        for (CompletableFuture<CliRun> w : workers) {
            w.get(60, TimeUnit.SECONDS).assertOk();
        }
        assertTrue(coordinatorOut.toString().contains("done: 3 steps"), coordinatorOut::toString);
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(manifestSha256, summary.at("/data/sha256").asText(), summary.toString());
        assertEquals(50257, summary.at("/config/vocab_size").asInt());
        JsonNode job = JSON.readTree(out.resolve("job.json").toFile());
        assertEquals(manifestSha256, job.get("data_sha256").asText(), job.toString());
    }

    @Test
    void localTrainingNamesTheDataAsGivenInTheSummary() throws Exception {
        Path out = tmp.resolve("run");
        trainTiny(dataset, out, 2).assertOk();
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(dataset.toString(), summary.at("/data/path").asText(), summary.toString());
        assertEquals(manifestSha256, summary.at("/data/sha256").asText());
    }

    @Test
    void tuneRunsDistributedTrialsOnTheDataset() throws Exception {
        Path space = Files.writeString(tmp.resolve("space.conf"), TuneCommandTest.SPACE);
        Path study = tmp.resolve("study");
        CliRun tune = troupe("tune", "--space", space, "--data", dataset, "--out", study, "--threads", 2,
                "--trials", 2, "--steps", 4, "--workers", 2, "--workers-per-trial", 2).assertOk();
        assertTrue(tune.out().contains("done: 2 trials (2 complete, 0 pruned, 0 failed)"), tune.toString());
        for (int trial = 0; trial < 2; trial++) {
            JsonNode summary = JSON.readTree(study.resolve("trials/" + trial + "/summary.json").toFile());
            assertEquals(manifestSha256, summary.at("/data/sha256").asText(), summary.toString());
            assertEquals(50257, summary.at("/config/vocab_size").asInt());
        }
    }

    @Test
    void evalScoresTheValSplitWithTheModelTrainedOnIt() throws Exception {
        Path model = tmp.resolve("model");
        trainTiny(dataset, model, 2).assertOk();
        long valTokens = JSON.readTree(dataset.resolve("manifest.json").toFile()).at("/tokens/val").asLong();

        CliRun eval = troupe("eval", "--model", model, "--data", dataset, "--threads", 1, "--json").assertOk();
        JsonNode report = JSON.readTree(eval.out());
        // Every val token but the first is a target; the loss of an untrained gpt2-sized head is near ln(50257).
        assertEquals(valTokens - 1, report.get("tokens").asLong(), eval.toString());
        assertTrue(report.get("loss").asDouble() > 5 && report.get("loss").asDouble() < 15, eval.toString());
    }

    @Test
    void evalRefusesADatasetMadeWithAnotherTokenizerThanTheModels() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        Path charModel = tmp.resolve("char");
        trainTiny(corpus, charModel, 1).assertOk();
        troupe("eval", "--model", charModel, "--data", dataset, "--threads", 1)
                .assertOneLineError("was tokenized with a gpt2 tokenizer of 50257 ids, not with the model's char tokenizer");
    }

    @Test
    void aFolderThatIsNoDatasetIsRefusedWithTheCommandThatMakesOne() {
        troupe("train", "--data", tmp, "--out", tmp.resolve("run"), TINY)
                .assertOneLineError("is a folder, not a prepared dataset; run troupe prepare --input " + tmp);
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
