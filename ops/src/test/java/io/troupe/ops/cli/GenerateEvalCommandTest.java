package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.assertSameFiles;
import static io.troupe.ops.cli.CliRun.snapshot;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.KvCacheGraphs;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.Graph;
import io.troupe.ops.inference.ExportedModel;
import java.nio.FloatBuffer;
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
        for (String t : List.of("-1", "NaN", "Infinity")) {
            generate(run, "--temperature", t).assertExit(TroupeCli.EXIT_USAGE)
                    .assertOneLineError("--temperature must be >= 0");
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

    @Test
    void jsonReportsTokensFinishReasonAndTimingAndTheCacheIsUsed() throws Exception {
        CliRun run1 = generate(run, "--prompt", "the king", "--tokens", 20, "--seed", 5, "--json").assertOk();
        assertEquals("", run1.err());
        JsonNode json = JSON.readTree(run1.out());
        assertEquals(List.of("prompt", "completion", "text", "tokens", "token_ids", "finish_reason", "seed", "cached", "timing"),
                fieldNames(json));
        assertEquals(20, json.get("tokens").asInt());
        assertEquals(20, json.get("token_ids").size());
        assertEquals("length", json.get("finish_reason").asText());
        assertTrue(json.get("cached").asBoolean(), "the run directory has decoder.onnx");
        assertEquals("the king" + json.get("completion").asText(), json.get("text").asText());
        assertEquals(20, json.get("completion").asText().length(), "one character per token");
        assertEquals(19, json.get("timing").get("decode_steps").asInt());
        assertTrue(json.get("timing").get("prefill_ms").asDouble() > 0);
        assertTrue(json.get("timing").get("ms_per_token").asDouble() > 0);
        // Streaming text and --json give the same completion.
        assertEquals("the king" + json.get("completion").asText() + System.lineSeparator(),
                generate(run, "--prompt", "the king", "--tokens", 20, "--seed", 5).assertOk().out());
    }

    @Test
    void withoutTheDecoderGenerationFallsBackToTheUncachedModelWithTheSameGreedyText() throws Exception {
        Path old = Files.createDirectory(tmp.resolve("old-export"));
        Files.copy(run.resolve("model.onnx"), old.resolve("model.onnx"));
        Files.copy(run.resolve("tokenizer.json"), old.resolve("tokenizer.json"));
        List<Object> greedy = List.of("--prompt", "war", "--tokens", 40, "--top-k", 1);
        CliRun uncached = generate(old, greedy.toArray()).assertOk();
        assertTrue(uncached.err().startsWith("troupe: warning: " + old.resolve("decoder.onnx") + " does not exist"), uncached.err());
        assertTrue(uncached.err().contains("troupe export --run RUN_DIR --out " + old + " --force"), uncached.err());
        assertEquals(1, uncached.err().lines().count());
        // 40 tokens run well past block_size 16: the cache slides its window as the uncached model crops.
        assertEquals(uncached.out(), generate(run, greedy.toArray()).assertOk().out());
        JsonNode json = JSON.readTree(generate(old, "--prompt", "war", "--tokens", 3, "--json").assertOk().out());
        assertFalse(json.get("cached").asBoolean());
    }

    @Test
    void aStopStringEndsTheCompletionBeforeIt() throws Exception {
        String full = JSON.readTree(generate(run, "--prompt", "the", "--tokens", 40, "--top-k", 1, "--json").assertOk().out())
                .get("completion").asText();
        String stop = full.substring(10, 13);
        int cut = full.indexOf(stop);
        JsonNode stopped = JSON.readTree(generate(run, "--prompt", "the", "--tokens", 40, "--top-k", 1, "--json",
                "--stop", "qqq", "--stop", stop).assertOk().out());
        assertEquals(full.substring(0, cut), stopped.get("completion").asText());
        assertEquals("stop", stopped.get("finish_reason").asText());
        assertEquals(cut + stop.length(), stopped.get("tokens").asInt(), "generation ends at the token completing the stop");
        // Streamed text holds back what might begin a stop string, and never prints the stop itself.
        assertEquals("the" + full.substring(0, cut) + System.lineSeparator(),
                generate(run, "--prompt", "the", "--tokens", 40, "--top-k", 1, "--stop", stop).assertOk().out());
    }

    @Test
    void topPAndRepetitionPenaltyShapeTheSampling() throws Exception {
        String greedy = generate(run, "--prompt", "war", "--tokens", 30, "--top-k", 1).assertOk().out();
        for (int seed = 1; seed <= 3; seed++) {
            assertEquals(greedy, generate(run, "--prompt", "war", "--tokens", 30, "--top-k", 0, "--top-p", "1e-6",
                    "--temperature", 2, "--seed", seed).assertOk().out(), "a tiny nucleus keeps only the likeliest token");
        }
        assertNotEquals(greedy, generate(run, "--prompt", "war", "--tokens", 30, "--top-k", 0, "--temperature", 2,
                "--seed", 1).assertOk().out());
        String penalized = generate(run, "--prompt", "war", "--tokens", 30, "--top-k", 1, "--repetition-penalty", 5)
                .assertOk().out();
        assertNotEquals(greedy, penalized);
        assertEquals(greedy, generate(run, "--prompt", "war", "--tokens", 30, "--top-k", 1, "--repetition-penalty", 1)
                .assertOk().out());
    }

    @Test
    void badTopPPenaltyAndStopAreUsageErrors() {
        for (String p : List.of("0", "-0.5", "1.5", "NaN")) {
            generate(run, "--top-p", p).assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--top-p must be in (0, 1]");
        }
        for (String r : List.of("0", "-1", "NaN", "Infinity")) {
            generate(run, "--repetition-penalty", r).assertExit(TroupeCli.EXIT_USAGE)
                    .assertOneLineError("--repetition-penalty must be a positive number");
        }
        generate(run, "--stop", "").assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--stop must not be empty");
    }

    @Test
    void aModelThatIsNotALanguageModelIsRefused() throws Exception {
        Path classifier = Files.createDirectory(tmp.resolve("classifier"));
        Files.copy(run.resolve("tokenizer.json"), classifier.resolve("tokenizer.json"));
        GptConfig cfg = new GptConfig(TEXT.chars().distinct().toArray().length, 16, 1, 2, 16, 0, false, true);
        Graph graph = KvCacheGraphs.decoder(cfg, FloatBuffer.wrap(new float[(int) ParameterLayout.of(cfg).size()]));
        graph.metadata(ExportedModel.TASK, "classification");
        Files.write(classifier.resolve("decoder.onnx"), graph.toBytes());
        generate(classifier).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("is a 'classification' model (troupe.task), not a language model (lm)");
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
