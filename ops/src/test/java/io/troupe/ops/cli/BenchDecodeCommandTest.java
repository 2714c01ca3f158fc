package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** {@code troupe bench decode}: its report, and its usage errors. Speed itself is never asserted. */
class BenchDecodeCommandTest {

    @Test
    void reportsCachedAndUncachedTimesAtTheContextCappedByTheBlock() throws Exception {
        CliRun run = troupe("bench", "decode", "--config", "small", "--context", 1000, "--tokens", 3,
                "--uncached-tokens", 2, "--threads", 1, "--json").assertOk();
        JsonNode json = new ObjectMapper().readTree(run.out());
        assertEquals("small", json.get("model").asText());
        assertEquals(64, json.get("context").asInt(), "the small shape's block_size caps the context");
        assertEquals(3, json.get("cached_steps").asInt());
        assertEquals(2, json.get("uncached_steps").asInt());
        assertTrue(json.get("cached_ms_per_token").asDouble() > 0);
        assertTrue(json.get("uncached_ms_per_token").asDouble() > 0);
        assertEquals(json.get("uncached_ms_per_token").asDouble() / json.get("cached_ms_per_token").asDouble(),
                json.get("speedup").asDouble(), 0.2 * json.get("speedup").asDouble());
    }

    @Test
    void badOptionsAreUsageErrors() {
        troupe("bench", "decode", "--config", "huge").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("unknown --config 'huge'; choose small, big or gpt2");
        troupe("bench", "decode", "--tokens", 0).assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--tokens");
        troupe("bench", "decode", "--context", 1).assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--context must be >= 2");
    }
}
