package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --dashboard}'s refusals: a busy port, and an address beyond loopback without a token. */
class DashboardOptionsTest {

    @TempDir
    Path tmp;

    @Test
    void aPortInUseIsOneLineAndExit2() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            trainTiny(corpus, tmp.resolve("run"), 2, "--dashboard", String.valueOf(busy.getLocalPort()))
                    .assertOneLineError("--dashboard 127.0.0.1:" + busy.getLocalPort() + ": cannot listen there")
                    .assertExit(2);
        }
    }

    @Test
    void aNonLoopbackAddressNeedsATokenFile() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        trainTiny(corpus, tmp.resolve("run"), 2, "--dashboard", "0.0.0.0:0")
                .assertOneLineError("add --dashboard-token-file").assertExit(2);
        assertFalse(Files.exists(tmp.resolve("run/metrics.jsonl")), "nothing trained");
    }

    @Test
    void aTokenFileWithoutDashboardIsAUsageError() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        Path token = Files.writeString(tmp.resolve("token"), "0123456789abcdef0123\n");
        trainTiny(corpus, tmp.resolve("run"), 2, "--dashboard-token-file", token.toString())
                .assertOneLineError("--dashboard-token-file applies to --dashboard").assertExit(2);
    }
}
