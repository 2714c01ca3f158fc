package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.TINY;
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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The command line as a whole: help that says what each command does and shows its defaults,
 * the options train and coordinator share, --json output, and nonsense refused as a usage error.
 */
class CliOptionsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    private static Path corpus;

    @TempDir
    Path tmp;

    @BeforeAll
    static void writeCorpus() throws Exception {
        corpus = Files.writeString(shared.resolve("corpus.txt"), TEXT);
    }

    // ---- help ----

    @Test
    void everyCommandIsDescribedInWholeSentencesAndShowsItsDefaults() {
        List<CommandLine> commands = new ArrayList<>();
        collect(TroupeCli.commandLine(), commands);
        assertTrue(commands.size() > 15, "every subcommand, nested ones too");
        for (CommandLine command : commands) {
            String name = command.getCommandSpec().qualifiedName();
            String[] description = command.getCommandSpec().usageMessage().description();
            // One element is one printed paragraph; the first is the summary 'troupe --help' lists.
            for (String paragraph : description) {
                assertTrue(paragraph.endsWith("."), name + ": a paragraph is cut off: '" + paragraph + "'");
            }
            for (OptionSpec option : command.getCommandSpec().options()) {
                if (option.defaultValue() != null && !option.usageHelp() && !option.versionHelp()) {
                    assertTrue(String.join(" ", option.description()).contains("default"),
                            name + " " + option.longestName() + " has a default its help does not show");
                }
            }
            String usage = command.getUsageMessage();
            assertFalse(usage.contains("${"), name + ": an unresolved variable in\n" + usage);
        }
    }

    @Test
    void trainAndCoordinatorShareTheirOptionsAndSaySo() {
        String train = troupe("train", "--help").assertOk().out();
        String coordinator = troupe("coordinator", "--help").assertOk().out();
        assertFalse(train.contains("character-level"), train);
        assertTrue(train.contains("prepared dataset (char, gpt2 or bpe tokenizer)"), train);
        assertTrue(train.contains("same as troupe coordinator's"), train);
        assertTrue(coordinator.contains("same as troupe train's"), coordinator);
        // Whitespace folded: where picocli wraps a description depends on the widest option name.
        String trainFolded = train.replaceAll("\\s+", " ");
        for (String shown : List.of("(default: shakespeare-char-small)", "(default: fp32)", "(default: cpu)")) {
            assertTrue(trainFolded.contains(shown), shown + " in\n" + train);
        }
        List<String> coordinatorOnly = List.of("--bind", "--resume-if-exists");
        // --wire-limit-mbps shapes this process's ring sends; a coordinator has no ring (its workers take it).
        List<String> trainOnly = List.of("--wire-limit-mbps");
        assertEquals(options("train").stream().filter(o -> !trainOnly.contains(o)).toList(),
                options("coordinator").stream().filter(o -> !coordinatorOnly.contains(o)).toList(),
                "the same options, and coordinator's " + coordinatorOnly + ", train's " + trainOnly);
        String summary = troupe("--help").assertOk().out();
        assertTrue(summary.contains("export"), summary);
    }

    private static List<String> options(String command) {
        return TroupeCli.commandLine().getSubcommands().get(command).getCommandSpec().options().stream()
                .map(OptionSpec::longestName).sorted().toList();
    }

    private static void collect(CommandLine command, List<CommandLine> into) {
        if (command.getCommandSpec().userObject() instanceof CommandLine.HelpCommand) {
            return; // picocli's own, worded by picocli
        }
        into.add(command);
        command.getSubcommands().values().stream().distinct().forEach(sub -> collect(sub, into));
    }

    // ---- --json ----

    @Test
    void trainWithJsonPrintsOneObjectPerLine() throws Exception {
        Path out = tmp.resolve("run");
        CliRun run = trainTiny(corpus, out, 2, "--json").assertOk();
        assertEquals("", run.err());
        List<JsonNode> lines = jsonLines(run.out());
        assertEquals("start", lines.get(0).get("event").asText());
        assertEquals(2, lines.get(0).get("last_step").asLong());
        assertEquals(List.of(1L, 2L), lines.stream().filter(l -> l.get("event").asText().equals("step"))
                .map(l -> l.get("step").asLong()).toList(), "log_interval=1: every step");
        JsonNode step = lines.stream().filter(l -> l.get("event").asText().equals("step")).findFirst().orElseThrow();
        for (String field : List.of("loss", "lr", "grad_norm", "tokens_per_s", "mfu", "step_ms", "last_step")) {
            assertTrue(step.get(field).isNumber(), field + " in " + step);
        }
        assertEquals(List.of(0L, 2L), lines.stream().filter(l -> l.get("event").asText().equals("eval"))
                .map(l -> l.get("step").asLong()).toList());
        assertTrue(lines.stream().anyMatch(l -> l.get("event").asText().equals("checkpoint")
                && l.get("file").asText().equals(out.resolve("checkpoints/ckpt-2.bin").toString())), run.out());
        JsonNode done = lines.get(lines.size() - 1);
        assertEquals("done", done.get("event").asText());
        assertEquals(2, done.get("steps").asLong());
        assertEquals(out.resolve("model.onnx").toString(), done.get("model").asText());
        for (String field : List.of("train_loss", "val_loss", "best_val_loss", "tokens_per_s", "wall_s")) {
            assertTrue(done.get(field).isNumber(), field + " in " + done);
        }
    }

    @Test
    void anEmbeddedClusterPrintsTheSameJson() throws Exception {
        CliRun run = trainTiny(corpus, tmp.resolve("run"), 2, "--workers", "2", "--json").assertOk();
        List<JsonNode> lines = jsonLines(run.out());
        assertEquals("start", lines.get(0).get("event").asText());
        JsonNode done = lines.get(lines.size() - 1);
        assertEquals("done", done.get("event").asText(), run.toString());
        assertEquals(2, done.get("steps").asLong());
    }

    @Test
    void generateWithJsonPrintsThePromptAndItsCompletion() throws Exception {
        Path model = tmp.resolve("run");
        trainTiny(corpus, model, 2).assertOk();
        List<Object> args = List.of("--model", model, "--prompt", "the", "--tokens", 20, "--seed", 4, "--threads", 1);
        CliRun text = troupe("generate", args).assertOk();
        CliRun json = troupe("generate", args, "--json").assertOk();
        assertEquals(1, json.out().lines().count(), json.toString());
        JsonNode line = JSON.readTree(json.out());
        assertEquals("the", line.get("prompt").asText());
        assertEquals(20, line.get("tokens").asInt());
        assertEquals(4, line.get("seed").asLong());
        assertEquals(20, line.get("completion").asText().length(), "one character per token");
        assertEquals(text.out().strip(), "the" + line.get("completion").asText().strip(), "the same text as without --json");
    }

    @Test
    void tuneWithJsonPrintsItsTrialsAndResult() throws Exception {
        Path space = Files.writeString(tmp.resolve("space.conf"), TuneCommandTest.SPACE);
        CliRun run = troupe("tune", "--space", space, "--data", corpus, "--out", tmp.resolve("study"), "--trials", 2,
                "--steps", 10, "--threads", 1, "--json").assertOk();
        List<JsonNode> lines = jsonLines(run.out());
        JsonNode study = lines.get(0);
        assertEquals("study", study.get("event").asText(), run.out());
        assertEquals(2, study.get("trials").asInt());
        assertEquals(10, study.get("steps").asLong());
        assertEquals(2, lines.stream().filter(l -> l.get("event").asText().equals("trial_start")).count(), run.out());
        List<JsonNode> ends = lines.stream().filter(l -> l.get("event").asText().equals("trial_end")).toList();
        assertEquals(2, ends.size(), run.out());
        for (JsonNode end : ends) {
            assertEquals("COMPLETE", end.get("state").asText(), end.toString());
            assertTrue(end.get("val_loss").isNumber(), end.toString());
            assertTrue(end.get("reason").isNull(), end.toString());
        }
        JsonNode done = lines.get(lines.size() - 1);
        assertEquals("done", done.get("event").asText());
        assertEquals(2, done.get("complete").asInt());
        assertTrue(done.get("best").get("params").has("learning_rate"), done.toString());
        assertTrue(done.get("report_html").asText().endsWith("report.html"), done.toString());
    }

    private static List<JsonNode> jsonLines(String out) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.lines().toList()) {
            JsonNode node = JSON.readTree(line);
            assertTrue(node.isObject() && node.has("event"), line);
            lines.add(node);
        }
        assertFalse(lines.isEmpty());
        return lines;
    }

    // ---- --resume, one form everywhere ----

    @Test
    void resumeDirIsShortForOutDirResume() throws Exception {
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 2).assertOk();
        troupe("train", "--data", corpus, "--resume", out, "--steps", 4, "--threads", 1, TINY).assertOk();
        assertEquals(5, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "steps 0..4, each once");
        troupe("train", "--data", corpus, "--out", tmp.resolve("other"), "--resume", out, "--steps", 4, TINY)
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("name different directories");
        // The coordinator's old spelling, --resume DIR, and the shared one read the same job file.
        Path noJob = Files.createDirectory(tmp.resolve("nojob"));
        String viaOut = troupe("coordinator", "--bind", "127.0.0.1:0", "--out", noJob, "--resume")
                .assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError(noJob.toString()).err();
        String viaResume = troupe("coordinator", "--bind", "127.0.0.1:0", "--resume", noJob)
                .assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError(noJob.toString()).err();
        assertEquals(viaOut, viaResume);
        troupe("coordinator", "--out", noJob, "--resume", "--data", corpus).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--resume continues the job as it was defined");
    }

    // ---- nonsense is a usage error: exit 2, one line naming the fix, nothing written ----

    @Test
    void nonsenseStepsAreRefused() {
        Path out = tmp.resolve("run");
        troupe("train", "--data", corpus, "--out", out, "--steps", "99999999999", TINY).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--steps 99999999999 is more than the 1000000000 steps a run may take");
        trainTiny(corpus, out, 0).assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--steps must be >= 1, got 0");
        trainTiny(corpus, out, -3).assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--steps must be >= 1, got -3");
        troupe("train", "--data", corpus, "--out", out, TINY, "max_iters=99999999999").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("max_iters 99999999999 is more than the 1000000000 steps");
        troupe("coordinator", "--workers", 1, "--data", corpus, "--out", out, "--steps", "99999999999")
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("is more than the 1000000000 steps");
        troupe("tune", "--out", out, "--steps", 0).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--steps must be >= 1, got 0");
        assertFalse(Files.exists(out));
    }

    @Test
    void workerCountsThatCannotRunAreRefused() {
        Path out = tmp.resolve("run");
        coordinator(out, "--workers", 2, "--min-workers", 3).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--min-workers 3 is more than --workers 2");
        coordinator(out, "--workers", 2, "--max-workers", 1).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--max-workers 1 is less than --workers 2");
        coordinator(out, "--workers", 0).assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--workers must be >= 1, got 0");
        coordinator(out, "--workers", 2, "--min-workers", 0).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--min-workers must be >= 1, got 0");
        trainTiny(corpus, out, 1, "--workers", "-1").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--workers must be >= 1, got -1");
        assertFalse(Files.exists(out));
        assertNull(ClusterOptions.problem(2, 1, 2));
        assertNull(ClusterOptions.problem(2, 2, 4));
    }

    @Test
    void optionsThatCannotApplyAreRefusedWithTheReason() {
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 1, "--min-workers", "1").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--min-workers and --max-workers apply to troupe coordinator");
        trainTiny(corpus, out, 1, "--workers", "2", "--max-workers", "3").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--min-workers and --max-workers apply to troupe coordinator");
        trainTiny(corpus, out, 1, "--wire", "bf16").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--workers 1 exchanges none");
        coordinator(out, "--workers", 1, "--threads", 2).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("the coordinator runs no training steps; pass --threads and --device to each troupe worker");
        coordinator(out, "--workers", 1, "--device", "cpu").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("pass --threads and --device to each troupe worker");
        assertFalse(Files.exists(out));
    }

    @Test
    void otherZeroOrNegativeValuesAreRefused() throws Exception {
        Path model = tmp.resolve("model");
        troupe("generate", "--model", model, "--tokens", -1).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--tokens must be >= 0, got -1");
        troupe("generate", "--model", model, "--temperature", -1).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("temperature");
        troupe("eval", "--model", model, "--data", corpus, "--batch", 0).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--batch must be >= 1, got 0");
        trainTiny(corpus, tmp.resolve("run"), 1, "--device", "gpu").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("gpu");
    }

    @Test
    void aFolderOfTextsIsSentToPrepare() throws Exception {
        Path texts = Files.createDirectory(tmp.resolve("texts"));
        Files.writeString(texts.resolve("a.txt"), TEXT);
        // The folder exists but is in the wrong state: a data mistake (exit 1), not a command-line one.
        trainTiny(texts, tmp.resolve("run"), 1).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("--data " + texts + " is a folder, not a prepared dataset; run troupe prepare --input "
                        + texts + " --out DATASET first, then train --data DATASET");
    }

    @Test
    void moreThreadsThanCpusIsWarnedAboutOnce() {
        int cores = Runtime.getRuntime().availableProcessors();
        CliRun run = troupe("train", "--data", corpus, "--out", tmp.resolve("run"), "--steps", 1, "--threads", cores + 1,
                TINY).assertOk();
        List<String> warnings = run.err().lines().toList();
        assertEquals(List.of(ThreadBudget.warning(cores + 1, 1, cores)), warnings, run.toString());
    }

    private static CliRun coordinator(Path out, Object... args) {
        return troupe("coordinator", "--bind", "127.0.0.1:0", "--data", corpus, "--out", out, List.of(args));
    }
}
