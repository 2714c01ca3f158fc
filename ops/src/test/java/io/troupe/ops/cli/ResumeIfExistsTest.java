package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TINY;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.coordinator.JobFile;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.source.DataSource;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe coordinator --resume-if-exists}: a restarted coordinator continues only its own job. */
class ResumeIfExistsTest {

    @TempDir
    Path tmp;

    private Path corpus() throws Exception {
        Path corpus = tmp.resolve("corpus.txt");
        Files.writeString(corpus, CliRun.TEXT);
        return corpus;
    }

    private static TrainSettings tiny(long steps) {
        return TrainSettings.load(null, KeyValues.parse(TINY), steps);
    }

    /** A run directory holding the job.json of a tiny job of {@code steps} steps on {@code corpus}. */
    private Path storedJob(Path corpus, long steps) throws Exception {
        Path out = tmp.resolve("run");
        Files.createDirectories(out);
        JobSpec job = DistributedJobs.spec(tiny(steps), DataSource.open(corpus), out, 1, 1, 4, "fp32", null);
        JobFile.of(job).write(out);
        return out;
    }

    @Test
    void theSameDefinitionReadBackFromJobJsonIsTheSameJob() throws Exception {
        Path corpus = corpus();
        Path out = storedJob(corpus, 5);
        // Other worker counts: they may change on any resume.
        JobSpec wanted = DistributedJobs.spec(tiny(5), DataSource.open(corpus), out, 2, 1, 8, "fp32", null);
        assertNull(SameJob.difference(JobFile.read(out), wanted));
    }

    @Test
    void otherSettingsDataOrWireAreNamed() throws Exception {
        Path corpus = corpus();
        Path out = storedJob(corpus, 5);
        JobFile stored = JobFile.read(out);

        String steps = SameJob.difference(stored, DistributedJobs.spec(tiny(7), DataSource.open(corpus), out, 1, 1, 4,
                "fp32", null));
        assertTrue(steps.contains("maxIters 5 there, 7 here"), steps);

        String wire = SameJob.difference(stored, DistributedJobs.spec(tiny(5), DataSource.open(corpus), out, 1, 1, 4,
                "bf16", null));
        assertTrue(wire.contains("wire FP32 there, BF16 here"), wire);

        Files.writeString(corpus, CliRun.TEXT + "more text\n");
        String data = SameJob.difference(stored, DistributedJobs.spec(tiny(5), DataSource.open(corpus), out, 1, 1, 4,
                "fp32", null));
        assertTrue(data.contains("changed since the job started"), data);
    }

    @Test
    void aRunDirectoryHoldingAnotherJobIsRefusedWithoutTouchingIt() throws Exception {
        Path corpus = corpus();
        Path out = storedJob(corpus, 5);
        String before = Files.readString(out.resolve(JobFile.NAME));

        troupe("coordinator", "--bind", "127.0.0.1:0", "--workers", 1, "--data", corpus, "--out", out, "--steps", 7,
                TINY, "--resume-if-exists")
                .assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("holds a job defined otherwise (maxIters 5 there, 7 here");
        assertEquals(before, Files.readString(out.resolve(JobFile.NAME)));
    }

    @Test
    void aFinishedJobIsNotRunAgain() throws Exception {
        Path corpus = corpus();
        Path out = storedJob(corpus, 5);
        Files.createDirectories(out.resolve("checkpoints"));
        Files.writeString(out.resolve("checkpoints/ckpt-3.bin"), "");
        Files.writeString(out.resolve("model.onnx"), "the model");
        assertFalse(SameJob.finished(out, 5), "its newest checkpoint is of step 3 of 5");

        Files.writeString(out.resolve("checkpoints/ckpt-5.bin"), "");
        Files.writeString(out.resolve("summary.json"), "{\"steps\": 5}");
        assertTrue(SameJob.finished(out, 5));
        CliRun run = troupe("coordinator", "--bind", "127.0.0.1:0", "--workers", 1, "--data", corpus, "--out", out,
                "--steps", 5, TINY, "--resume-if-exists").assertExit(TroupeCli.EXIT_OK);
        assertTrue(run.out().contains("already finished"), run.toString());
        assertEquals("{\"steps\": 5}", Files.readString(out.resolve("summary.json")), "its results are kept");
        assertEquals("the model", Files.readString(out.resolve("model.onnx")));

        CliRun resumed = troupe("coordinator", "--bind", "127.0.0.1:0", "--out", out, "--resume")
                .assertExit(TroupeCli.EXIT_OK);
        assertTrue(resumed.out().contains("already finished"), resumed.toString());
        assertEquals("{\"steps\": 5}", Files.readString(out.resolve("summary.json")),
                "a plain --resume of a finished job keeps its results too (it used to rewrite them with NaN losses)");
    }

    @Test
    void itContradictsForceAndResume() throws Exception {
        Path corpus = corpus();
        Path out = storedJob(corpus, 5);
        troupe("coordinator", "--workers", 1, "--data", corpus, "--out", out, "--resume-if-exists", "--force")
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("pass one of them");
        troupe("coordinator", "--out", out, "--resume", "--resume-if-exists")
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--resume-if-exists goes with a new job");
    }
}
