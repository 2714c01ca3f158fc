package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.troupe;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Without --tls a cluster node listens on loopback only, unless --insecure; and the flags' other misuses. */
class TlsOptionsTest {

    @TempDir
    Path tmp;

    @Test
    void aNonLoopbackBindWithoutTlsIsRefusedNamingTheFix() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        troupe("coordinator", "--bind", "0.0.0.0:0", "--workers", 1, "--data", corpus, "--out", tmp.resolve("run"))
                .assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--bind 0.0.0.0 is not a loopback address and the cluster has no TLS, so anyone who"
                        + " reaches it could join the job and read its state; pass --tls DIR (made by 'troupe secret"
                        + " init DIR', copied to every node), or --insecure to accept that");
        troupe("worker", "--join", "127.0.0.1:2552", "--bind", "0.0.0.0").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--bind 0.0.0.0 is not a loopback address and the cluster has no TLS");
        troupe("worker", "--join", "127.0.0.1:2552", "--tls", tmp, "--insecure").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--tls and --insecure contradict each other");
        troupe("worker", "--join", "127.0.0.1:2552", "--tls", tmp.resolve("none")).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("store.pass does not exist; --tls takes the directory 'troupe secret init DIR' wrote");
    }

    @Test
    void trainAndLocalTuneRefuseTheClusterFlags() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        CliRun.trainTiny(corpus, tmp.resolve("run"), 1, "--insecure").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--tls and --insecure secure troupe coordinator and troupe worker");
    }
}
