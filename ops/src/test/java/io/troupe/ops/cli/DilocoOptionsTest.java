package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DiLoCo's and the wire limit's bad input: one line, exit 2, before anything is read or written. */
class DilocoOptionsTest {
    @TempDir
    Path tmp;

    private CliRun train(Object... more) throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        if (!Files.exists(corpus)) {
            Files.writeString(corpus, "the quick brown fox\n".repeat(50));
        }
        Object[] args = new Object[more.length + 5];
        args[0] = "train";
        args[1] = "--data";
        args[2] = corpus;
        args[3] = "--out";
        args[4] = tmp.resolve("run");
        System.arraycopy(more, 0, args, 5, more.length);
        return troupe(args);
    }

    @Test
    void impossibleDilocoRunsAreRefusedWithTheFix() throws Exception {
        train("--workers", "2", "--sync", "diloco", "--inner-steps", "0").assertExit(2)
                .assertOneLineError("--inner-steps must be >= 1");
        train("--sync", "diloco", "--inner-steps", "10", "--steps", "20").assertExit(2)
                .assertOneLineError("pass --workers N (N >= 2)");
        train("--workers", "2", "--sync", "diloco", "--inner-steps", "30", "--steps", "100").assertExit(2)
                .assertOneLineError("use --steps 120");
        train("--workers", "2", "--sync", "diloco", "--inner-steps", "20", "--steps", "100", "eval_interval=30")
                .assertExit(2).assertOneLineError("set eval_interval=40");
        train("--workers", "2", "--inner-steps", "20").assertExit(2).assertOneLineError("add --sync diloco");
        train("--workers", "2", "--sync", "gossip").assertExit(2).assertOneLineError("--sync must be sync or diloco");
        train("--workers", "2", "--sync", "diloco", "--outer-momentum", "1").assertExit(2)
                .assertOneLineError("--outer-momentum must be in [0, 1)");
        train("--workers", "2", "--sync", "diloco", "--outer-lr", "0").assertExit(2)
                .assertOneLineError("--outer-lr must be in (0, 100]");
        troupe("coordinator", "--bind", "127.0.0.1:0", "--workers", "2", "--data", tmp.resolve("corpus.txt"), "--out",
                tmp.resolve("run"), "--sync", "diloco", "--inner-steps", "0").assertExit(2)
                .assertOneLineError("--inner-steps must be >= 1");
        assertFalse(Files.exists(tmp.resolve("run")), "nothing was written");
    }

    @Test
    void aResumedDilocoJobGrownByStepsMustStillEndOnAnOuterStep() throws Exception {
        Path job = Files.createDirectories(tmp.resolve("job"));
        io.troupe.worker.train.TrainSettings settings = io.troupe.worker.train.TrainSettings.load(null,
                java.util.Map.of("sync", "diloco", "inner_steps", "10", "eval_interval", "10"), 20);
        new io.troupe.coordinator.JobFile("j", settings, tmp.resolve("corpus.txt"), "0".repeat(64), 2, 1, 2,
                io.troupe.worker.allreduce.WireFormat.FP32).write(job);
        troupe("coordinator", "--bind", "127.0.0.1:0", "--out", job, "--resume", "--steps", "25").assertExit(2)
                .assertOneLineError("use --steps 30");
    }

    @Test
    void aWireLimitNeedsARingAndAPositiveRate() throws Exception {
        train("--wire-limit-mbps", "100").assertExit(2).assertOneLineError("--workers 1 has none");
        train("--workers", "2", "--wire-limit-mbps", "-5").assertExit(2)
                .assertOneLineError("--wire-limit-mbps must be in [0, 16000]");
        assertFalse(Files.exists(tmp.resolve("run")), "nothing was written");
    }
}
