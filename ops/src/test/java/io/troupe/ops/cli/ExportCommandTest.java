package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.assertSameFiles;
import static io.troupe.ops.cli.CliRun.snapshot;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.ops.inference.ExportedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe export}: a stopped run's checkpoint becomes the model a finished run would have written. */
class ExportCommandTest {

    @TempDir
    static Path shared;
    private static Path corpus;
    /** Finished runs of 2 and 4 steps; their model.onnx is what an export of step 2 or 4 must equal. */
    private static Path finished2;
    private static Path finished4;

    @TempDir
    Path tmp;

    @BeforeAll
    static void trainOnce() throws Exception {
        corpus = Files.writeString(shared.resolve("corpus.txt"), TEXT);
        finished2 = shared.resolve("two");
        finished4 = shared.resolve("four");
        trainTiny(corpus, finished2, 2).assertOk();
        trainTiny(corpus, finished4, 4).assertOk();
    }

    /** A 4-step run as an interrupted one leaves it: metrics and checkpoints (steps 2 and 4), no model. */
    private Path stoppedRun() throws Exception {
        Path run = tmp.resolve("stopped");
        trainTiny(corpus, run, 4).assertOk();
        for (String file : List.of("decoder.onnx", "decoder_step.onnx", "model.onnx", "tokenizer.json", "summary.json")) {
            Files.delete(run.resolve(file));
        }
        return run;
    }

    private static CliRun export(Object... args) {
        return troupe("export", List.of(args));
    }

    @Test
    void theNewestCheckpointExportsTheModelAFinishedRunWrites() throws Exception {
        Path run = stoppedRun();
        Path out = tmp.resolve("export");
        CliRun exported = export("--run", run, "--out", out).assertOk();
        assertEquals("", exported.err());
        assertEquals("exported step 4 (" + run.resolve("checkpoints/ckpt-4.bin") + ") to " + out.resolve("model.onnx")
                + System.lineSeparator(), exported.out());
        assertEquals(List.of("decoder.onnx", "decoder_step.onnx", "model.onnx", "tokenizer.json"), fileNames(out),
                "no staging directory is left");
        assertArrayEquals(Files.readAllBytes(finished4.resolve("model.onnx")), Files.readAllBytes(out.resolve("model.onnx")));
        assertArrayEquals(Files.readAllBytes(finished4.resolve("decoder.onnx")), Files.readAllBytes(out.resolve("decoder.onnx")));
        assertArrayEquals(Files.readAllBytes(finished4.resolve("decoder_step.onnx")),
                Files.readAllBytes(out.resolve("decoder_step.onnx")));
        assertEquals(Files.readString(finished4.resolve("tokenizer.json")), Files.readString(out.resolve("tokenizer.json")));
        assertSameLogits(finished4, out);

        // generate and eval work on the export and agree with the finished run's model.
        List<Object> sample = List.of("--prompt", "the king", "--tokens", 40, "--seed", 3, "--threads", 1);
        assertEquals(troupe("generate", "--model", finished4, sample).assertOk().out(),
                troupe("generate", "--model", out, sample).assertOk().out());
        assertEquals(troupe("eval", "--model", finished4, "--data", corpus, "--threads", 1, "--json").assertOk().out(),
                troupe("eval", "--model", out, "--data", corpus, "--threads", 1, "--json").assertOk().out());
    }

    @Test
    void anOlderCheckpointExportsTheModelOfThatStep() throws Exception {
        Path run = stoppedRun();
        Path out = tmp.resolve("step2");
        CliRun exported = export("--run", run, "--checkpoint", 2, "--out", out, "--json").assertOk();
        JsonNode json = new ObjectMapper().readTree(exported.out());
        assertEquals(1, exported.out().lines().count(), exported.toString());
        assertEquals(2, json.get("step").asLong());
        assertEquals(out.resolve("model.onnx").toString(), json.get("model").asText());
        assertArrayEquals(Files.readAllBytes(finished2.resolve("model.onnx")), Files.readAllBytes(out.resolve("model.onnx")));
        assertSameLogits(finished2, out);
    }

    @Test
    void anExportIntoTheRunDirectoryItselfGivesItItsModel() throws Exception {
        Path run = stoppedRun();
        export("--run", run, "--out", run).assertOk();
        assertArrayEquals(Files.readAllBytes(finished4.resolve("model.onnx")), Files.readAllBytes(run.resolve("model.onnx")));
        assertTrue(Files.isRegularFile(run.resolve("tokenizer.json")));
    }

    @Test
    void anExistingModelIsReplacedOnlyWithForce() throws Exception {
        Path run = stoppedRun();
        Path out = tmp.resolve("export");
        export("--run", run, "--checkpoint", 2, "--out", out).assertOk();
        Map<String, byte[]> before = snapshot(out);
        export("--run", run, "--out", out).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError(out.resolve("model.onnx") + " already exists; pass --force");
        assertSameFiles(before, snapshot(out));
        export("--run", run, "--out", out, "--force").assertOk();
        assertArrayEquals(Files.readAllBytes(finished4.resolve("model.onnx")), Files.readAllBytes(out.resolve("model.onnx")));
    }

    @Test
    void missingCheckpointsAnUnknownStepAndACorruptCheckpointAreNamed() throws Exception {
        Path out = tmp.resolve("export");
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        export("--run", empty, "--out", out).assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError("no checkpoints in");
        export("--run", tmp.resolve("absent"), "--out", out).assertOneLineError("is not a directory");

        Path run = stoppedRun();
        export("--run", run, "--checkpoint", 3, "--out", out).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("no checkpoint 3 in " + run.resolve("checkpoints") + "; it holds steps [2, 4]");
        export("--run", run, "--checkpoint", -1, "--out", out).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--checkpoint must be a step >= 0, got -1");

        Path newest = run.resolve("checkpoints/ckpt-4.bin");
        byte[] bytes = Files.readAllBytes(newest);
        Files.write(newest, Arrays.copyOf(bytes, bytes.length - 100));
        export("--run", run, "--out", out).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("pass --checkpoint N to export an older one");
        assertFalse(Files.exists(out), "nothing is written for a failed export");
        export("--run", run, "--checkpoint", 2, "--out", out).assertOk();
    }

    private static void assertSameLogits(Path expected, Path actual) throws Exception {
        long[] ids = new long[16];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % 7;
        }
        try (ExportedModel a = ExportedModel.open(expected, 1); ExportedModel b = ExportedModel.open(actual, 1)) {
            assertArrayEquals(a.logits(ids, 1, ids.length), b.logits(ids, 1, ids.length));
        }
    }

    private static List<String> fileNames(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
