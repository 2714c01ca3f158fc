package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

class BenchAllreduceCommandTest {

    @Test
    void printsTheReportAsOneJsonLine() throws Exception {
        CliRun run = CliRun.troupe("bench", "allreduce", "--workers", 3, "--mib", 1, "--wire", "bf16",
                "--warmups", 0, "--warmup-seconds", 0, "--runs", 1, "--json");
        assertEquals(TroupeCli.EXIT_OK, run.exitCode(), run.err());
        JsonNode report = new ObjectMapper().readTree(run.out());
        List<String> keys = StreamSupport.stream(((Iterable<String>) report::fieldNames).spliterator(), false).toList();
        assertEquals(List.of("workers", "mib", "ms", "algbw_gbps", "busbw_gbps"), keys);
        assertEquals(3, report.get("workers").asInt());
        double algbw = report.get("algbw_gbps").asDouble();
        assertTrue(algbw > 0, run.out());
        // busbw = algbw x 2(N-1)/N, up to the rounding of both to 3 decimals
        assertEquals(algbw * 4 / 3, report.get("busbw_gbps").asDouble(), 0.002);
    }

    @Test
    void impossibleOptionsAreUsageErrors() {
        CliRun one = CliRun.troupe("bench", "allreduce", "--workers", 1);
        assertEquals(TroupeCli.EXIT_USAGE, one.exitCode());
        assertTrue(one.err().contains("--workers >= 2"), one.err());
        CliRun wire = CliRun.troupe("bench", "allreduce", "--wire", "fp8");
        assertEquals(TroupeCli.EXIT_USAGE, wire.exitCode());
        assertTrue(wire.err().contains("expected fp32 or bf16"), wire.err());
    }
}
