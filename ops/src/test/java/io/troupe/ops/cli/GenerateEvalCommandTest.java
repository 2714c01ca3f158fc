package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.assertSameFiles;
import static io.troupe.ops.cli.CliRun.snapshot;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe generate} and {@code troupe eval} on an exported model, and their bad input. */
class GenerateEvalCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    private static Path run;
    private static Path corpus;

    @TempDir
    Path tmp;

    @BeforeAll
    static void trainOnce() throws Exception {
        corpus = Files.writeString(shared.resolve("corpus.txt"), TEXT);
        run = shared.resolve("run");
        trainTiny(corpus, run, 6, "learning_rate=1e-2").assertOk();
    }

    private static CliRun generate(Path model, Object... args) {
        return troupe("generate", "--model", model, "--threads", 1, List.of(args));
    }

    private static CliRun eval(Path model, Path data, Object... args) {
        return troupe("eval", "--model", model, "--data", data, "--threads", 1, List.of(args));
    }

    // ---- generate ----

    @Test
    void generateIsDeterministicForASeedAndNeedsOnlyTheModelAndTokenizer() throws Exception {
        CliRun first = generate(run, "--prompt", "the king", "--tokens", 60, "--seed", 5).assertOk();
        assertEquals("", first.err());
        String text = first.out();
        assertTrue(text.startsWith("the king"), first.toString());
        assertEquals("the king".length() + 60 + System.lineSeparator().length(), text.length(), first.toString());
        String vocabulary = TEXT;
        text.strip().chars().forEach(c -> assertTrue(vocabulary.indexOf(c) >= 0, "generated a character outside the corpus"));

        assertEquals(text, generate(run, "--prompt", "the king", "--tokens", 60, "--seed", 5).assertOk().out());
        assertNotEquals(text, generate(run, "--prompt", "the king", "--tokens", 60, "--seed", 6).assertOk().out());

        // An export is model.onnx + tokenizer.json: nothing else of the run is needed.
        Path export = Files.createDirectory(tmp.resolve("export"));
        Files.copy(run.resolve("model.onnx"), export.resolve("model.onnx"));
        Files.copy(run.resolve("tokenizer.json"), export.resolve("tokenizer.json"));
        assertEquals(text, generate(export, "--prompt", "the king", "--tokens", 60, "--seed", 5).assertOk().out());
    }

    @Test
    void topKOfOneIsGreedyWhateverTheSeed() {
        String greedy = generate(run, "--prompt", "war", "--tokens", 30, "--top-k", 1, "--seed", 1).assertOk().out();
        assertEquals(greedy, generate(run, "--prompt", "war", "--tokens", 30, "--top-k", 1, "--seed", 2).assertOk().out());
        assertEquals(greedy,
                generate(run, "--prompt", "war", "--tokens", 30, "--top-k", 1, "--temperature", 5, "--seed", 3).assertOk().out());
    }

    @Test
    void aPromptLongerThanTheContextIsCropped() {
        String prompt = TEXT.substring(0, 100); // block_size is 16
        CliRun run1 = generate(run, "--prompt", prompt, "--tokens", 5).assertOk();
        assertTrue(run1.out().startsWith(prompt));
        assertEquals(prompt.length() + 5 + System.lineSeparator().length(), run1.out().length(), run1.toString());
    }

    @Test
    void generateRejectsAMissingOrBrokenModelDirectory() throws Exception {
        generate(tmp.resolve("nowhere")).assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("model.onnx does not exist");
        Path onlyModel = Files.createDirectory(tmp.resolve("only-model"));
        Files.copy(run.resolve("model.onnx"), onlyModel.resolve("model.onnx"));
        generate(onlyModel).assertOneLineError("tokenizer.json does not exist");
        Path garbage = Files.createDirectory(tmp.resolve("garbage"));
        Files.writeString(garbage.resolve("model.onnx"), "not a model");
        Files.copy(run.resolve("tokenizer.json"), garbage.resolve("tokenizer.json"));
        generate(garbage).assertOneLineError("is not a loadable ONNX model");
        Path badTokenizer = Files.createDirectory(tmp.resolve("bad-tokenizer"));
        Files.copy(run.resolve("model.onnx"), badTokenizer.resolve("model.onnx"));
        Files.writeString(badTokenizer.resolve("tokenizer.json"), "{\"type\":\"char\",\"vocab\":[\"a\",\"b\"]}");
        generate(badTokenizer).assertOneLineError("different runs");
    }

    @Test
    void generateRejectsAPromptOutsideTheVocabularyBeforePrintingAnything() {
        CliRun bad = generate(run, "--prompt", "Zounds", "--tokens", 5).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("'Z' (U+005A) at index 0 is not in the char tokenizer's vocabulary");
        assertEquals("", bad.out());
        CliRun empty = generate(run, "--prompt", "", "--tokens", 5).assertOneLineError("the prompt is empty");
        assertEquals("", empty.out());
    }

    @Test
    void generateRejectsBadSamplingOptions() {
        for (String t : List.of("0", "-1", "NaN", "Infinity")) {
            generate(run, "--temperature", t).assertExit(TroupeCli.EXIT_USAGE)
                    .assertOneLineError("--temperature must be a positive number");
        }
        generate(run, "--temperature", "hot").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("Invalid value for option '--temperature': 'hot' is not a double");
        generate(run, "--top-k", "-1").assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--top-k must be >= 0, got -1");
        generate(run, "--top-k", "some").assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("'some' is not an int");
        generate(run, "--tokens", "-1").assertOneLineError("--tokens must be >= 0, got -1");
        troupe("generate").assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("Missing required option: '--model=DIR'");
    }

    @Test
    void generateDoesNotChangeTheModelDirectory() throws Exception {
        Map<String, byte[]> before = snapshot(run);
        generate(run, "--tokens", 3).assertOk();
        generate(run, "--prompt", "Zounds").assertOneLineError("vocabulary");
        assertSameFiles(before, snapshot(run));
    }

    // ---- eval ----

    @Test
    void evalReportsAFiniteLossAndItsPerplexity() throws Exception {
        CliRun json = eval(run, corpus, "--json").assertOk();
        assertEquals("", json.err());
        assertEquals(1, json.out().lines().count(), json.toString());
        JsonNode report = JSON.readTree(json.out());
        assertEquals(List.of("loss", "perplexity", "tokens"), fieldNames(report));
        double loss = report.get("loss").asDouble();
        int vocab = (int) TEXT.chars().distinct().count();
        assertTrue(Double.isFinite(loss) && loss > 0, json.toString());
        assertTrue(loss < Math.log(vocab), "a trained model beats the uniform guess: " + json);
        assertEquals(Math.exp(loss), report.get("perplexity").asDouble(), 1e-12 * Math.exp(loss));
        assertEquals(TEXT.length() - 1, report.get("tokens").asLong(), "every token after the first is scored");

        // Batching is an implementation detail: one window per run gives the same loss.
        double unbatched = JSON.readTree(eval(run, corpus, "--json", "--batch", 1).assertOk().out()).get("loss").asDouble();
        assertEquals(loss, unbatched, 1e-6);

        CliRun text = eval(run, corpus).assertOk();
        assertTrue(text.out().matches("loss \\S+ nats/token, perplexity \\S+ over \\S+ tokens\\R"), text.toString());
    }

    @Test
    void evalRejectsBadModelsAndData() throws Exception {
        eval(tmp.resolve("nowhere"), corpus).assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("model.onnx does not exist");
        eval(run, tmp.resolve("missing.txt")).assertOneLineError("does not exist");
        Path empty = Files.createFile(tmp.resolve("empty.txt"));
        eval(run, empty).assertOneLineError("is empty");
        Path binary = Files.write(tmp.resolve("blob.bin"), new byte[] {1, 2, 0, 3});
        eval(run, binary).assertOneLineError("NUL byte");
        Path foreign = Files.writeString(tmp.resolve("foreign.txt"), "the KING");
        eval(run, foreign).assertOneLineError("'K' (U+004B) at index 4 is not in the char tokenizer's vocabulary");
        Path one = Files.writeString(tmp.resolve("one.txt"), "t");
        eval(run, one).assertOneLineError("fewer than 2 tokens");
        eval(run, corpus, "--batch", 0).assertOneLineError("--batch must be >= 1, got 0");
    }

    @Test
    void evalScoresTextsShorterThanABlock() throws Exception {
        Path shortText = Files.writeString(tmp.resolve("short.txt"), "the king");
        JsonNode report = JSON.readTree(eval(run, shortText, "--json").assertOk().out());
        assertEquals(7, report.get("tokens").asLong());
        assertTrue(Double.isFinite(report.get("loss").asDouble()));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
