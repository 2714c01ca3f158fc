package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --precision}: fp16 trains and is recorded; a bad value is a usage error. */
class PrecisionOptionTest {
    @TempDir
    Path tmp;

    @Test
    void fp16TrainsAndRecordsItsPrecisionAndLossScale() throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "the quick brown fox jumps over the lazy dog\n".repeat(60));
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 3, "--precision", "fp16").assertOk();
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals("fp16", summary.get("precision").asText());
        assertEquals("fp16", summary.get("config").get("precision").asText(), "the settings travel with it");
        assertEquals(65536, summary.get("loss_scale").asLong());
        assertEquals(0, summary.get("loss_scale_overflows").asLong());
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("\"loss_scale\":65536"), metrics);
    }

    @Test
    void bf16StorageTrainsWithBfloat16ParametersAndTheBf16WireByDefault() throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, "the quick brown fox jumps over the lazy dog\n".repeat(60));
        Path out = tmp.resolve("run");
        trainTiny(corpus, out, 3, "--precision", "bf16-storage", "--workers", "2").assertOk();
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals("bf16-storage", summary.get("precision").asText());
        assertTrue(Double.isFinite(summary.get("final_train_loss").asDouble()), summary.toString());
        JsonNode job = new ObjectMapper().readTree(out.resolve("job.json").toFile());
        assertEquals("bf16", job.get("wire").asText(), "bf16-storage takes the bf16 wire unless --wire says otherwise");
        Path explicit = tmp.resolve("explicit");
        trainTiny(corpus, explicit, 1, "--precision", "bf16-storage", "--workers", "2", "--wire", "fp32").assertOk();
        assertEquals("fp32", new ObjectMapper().readTree(explicit.resolve("job.json").toFile()).get("wire").asText());
    }

    @Test
    void unknownOrUnbuiltPrecisionsAreUsageErrors() {
        Path corpus = tmp.resolve("none.txt");
        trainTiny(corpus, tmp.resolve("a"), 2, "--precision", "fp8").assertExit(2)
                .assertOneLineError("--precision must be one of fp32|fp16|bf16-storage, got 'fp8'");
        trainTiny(corpus, tmp.resolve("b"), 2, "--precision", "bf16-storage", "overlap_allreduce=true").assertExit(2)
                .assertOneLineError("precision bf16-storage is built for the GPT one-graph synchronous step");
        trainTiny(corpus, tmp.resolve("c"), 2, "precision=half").assertExit(2)
                .assertOneLineError("setting precision must be one of fp32|fp16|bf16-storage");
        trainTiny(corpus, tmp.resolve("d"), 2, "--precision", "fp16", "overlap_allreduce=true").assertExit(2)
                .assertOneLineError("precision fp16 is built for the GPT one-graph step");
        CliRun.troupe("finetune", "--task", "classify", "--from", "none", "--preset", "shakespeare-char-small",
                "--data", corpus, "--out", tmp.resolve("e"), "--precision", "fp16").assertExit(2)
                .assertOneLineError("not to --task classify; use --precision fp32");
        CliRun.troupe("finetune", "--task", "classify", "--from", "none", "--preset", "shakespeare-char-small",
                "--data", corpus, "--out", tmp.resolve("e"), "--precision", "bf16-storage").assertExit(2)
                .assertOneLineError("not to --task classify; use --precision fp32");
        assertFalse(Files.exists(tmp.resolve("d")) || Files.exists(tmp.resolve("e")), "nothing was written");
        assertFalse(Files.exists(tmp.resolve("a")) || Files.exists(tmp.resolve("b")) || Files.exists(tmp.resolve("c")),
                "nothing was written");
    }
}
