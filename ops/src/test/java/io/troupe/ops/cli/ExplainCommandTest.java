package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.ops.explain.TinyExports;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe explain} and {@code troupe bench explain} on tiny exports. */
class ExplainCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void explainPrintsTheJsonAndWritesThePage() throws Exception {
        Path model = TinyExports.onlyLooksAtX(dir.resolve("x"));
        Path page = dir.resolve("page.html");
        CliRun run = troupe("explain", "--model", model, "--text", "ab hx.cd", "--json", "--html", page, "--threads", 1);
        run.assertOk();
        JsonNode o = JSON.readTree(run.out().trim());
        assertEquals("yes", o.get("target").asText());
        assertEquals(8, o.get("tokens").size());
        assertTrue(o.get("completeness_error").asDouble() < 1e-3, run.out());
        String html = Files.readString(page);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<span class=\"tok\""), html);

        CliRun text = troupe("explain", "--model", model, "--text", "abxabxabxabx", "--method", "grad-x-input",
                "--threads", 1);
        text.assertOk();
        assertTrue(text.out().startsWith("target yes"), text.out());
        assertTrue(text.err().contains("4 tokens were left out"), text.err());
    }

    @Test
    void badTargetsTextsAndMethodsAreUsageErrors() throws Exception {
        Path model = TinyExports.onlyLooksAtX(dir.resolve("x"));
        CliRun label = troupe("explain", "--model", model, "--text", "abc", "--target", "maybe");
        assertEquals(2, label.exitCode(), label.err());
        assertTrue(label.err().contains("this classifier has no label 'maybe'"), label.err());
        assertFalse(label.err().contains("Exception"), label.err());
        assertEquals(2, troupe("explain", "--model", model, "--text", "").exitCode());
        assertEquals(2, troupe("explain", "--model", model, "--text", "abc", "--method", "shap").exitCode());
        assertEquals(2, troupe("explain", "--model", model, "--text", "abc", "--steps", "0").exitCode());
        CliRun missing = troupe("explain", "--model", dir.resolve("nothing"), "--text", "abc");
        assertEquals(1, missing.exitCode(), missing.err());
        assertTrue(missing.err().contains("model.onnx does not exist"), missing.err());
    }

    @Test
    void benchExplainTimesTheExplanationAndReportsCompleteness() throws Exception {
        Path model = TinyExports.randomLanguageModel(dir.resolve("lm"));
        CliRun run = troupe("bench", "explain", "--model", model, "--text", "bad cafe", "--steps", 8, "--repeat", 2,
                "--threads", 1, "--json");
        run.assertOk();
        JsonNode o = JSON.readTree(run.out().trim());
        assertEquals(8, o.get("tokens").asInt());
        assertTrue(o.get("median_ms").asDouble() > 0);
        assertTrue(o.has("completeness_error") && o.has("load_average"), run.out());
    }
}
