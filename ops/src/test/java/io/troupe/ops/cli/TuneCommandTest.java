package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.run.StudyHome;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe tune} and {@code troupe study show} end to end on a tiny model. */
class TuneCommandTest {
    /** Tiny Shakespeare when the shared data is next to the repository, else the tests' own text. */
    private static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");

    static final String SPACE = """
            fixed { n_layer = 1, n_head = 2, n_embd = 16, block_size = 16, batch_size = 4, eval_iters = 2,
                    eval_interval = 10, warmup_iters = 2 }
            params {
              learning_rate { type = log, min = 1e-3, max = 3e-2 }
              dropout { type = float, min = 0.0, max = 0.1 }
            }
            asha { reduction_factor = 2, min_resource = 10 }
            """;

    @TempDir
    static Path shared;
    private static Path data;
    private static Path space;
    /** A finished 4-trial ASHA study, shared by the tests that read or resume it. */
    private static Path study;
    private static CliRun first;

    @TempDir
    Path tmp;

    @BeforeAll
    static void runOneStudy() throws Exception {
        data = Files.isRegularFile(SHAKESPEARE) ? SHAKESPEARE : Files.writeString(shared.resolve("corpus.txt"), CliRun.TEXT);
        space = Files.writeString(shared.resolve("space.conf"), SPACE);
        study = shared.resolve("study");
        first = tune(study, "--trials", 4, "--steps", 30, "--pruner", "asha", "--workers", 2).assertOk();
    }

    static CliRun tune(Path out, Object... more) {
        return troupe("tune", "--space", space, "--data", data, "--out", out, "--threads", 1, List.of(more));
    }

    @Test
    void aStudyRunsItsTrialsAndRecordsThemInTheStore() throws Exception {
        List<String> lines = first.out().lines().toList();
        assertTrue(lines.get(0).startsWith("study " + study.toAbsolutePath().normalize() + ": 4 trials, 2 at a time on 1 worker(s) each, sampler random, pruner asha, 30 steps"), first.toString());
        assertEquals(4, lines.stream().filter(l -> l.matches("trial \\d started: dropout=\\S+ learning_rate=\\S+")).count(), first.toString());
        // A trial ASHA pauses at a rung and promotes later ends twice: every trial ends at least once.
        assertEquals(4, lines.stream().filter(l -> l.matches("trial \\d (COMPLETE|PRUNED) at step \\d+: val loss \\d\\.\\d{4}.*"))
                .map(l -> l.split(" ")[1]).distinct().count(), first.toString());
        assertTrue(lines.stream().anyMatch(l -> l.matches("done: 4 trials \\(\\d complete, \\d pruned, 0 failed\\), \\d+ steps trained of 120 for full trials")),
                first.toString());
        assertTrue(lines.stream().anyMatch(l -> l.matches("best: trial \\d, val loss \\d\\.\\d{4}: dropout=\\S+ learning_rate=\\S+")), first.toString());
        assertEquals("", first.err());

        try (StudyStore store = JdbcStudyStore.sqlite(study)) {
            List<TrialRecord> trials = store.trials(StudyHome.LOCAL_KEY);
            assertEquals(4, trials.size());
            for (TrialRecord t : trials) {
                assertTrue(t.state() == TrialState.COMPLETE || t.state() == TrialState.PRUNED, t.toString());
                assertEquals(0L, t.intermediate().firstKey(), "the untrained model's loss is reported too");
                assertTrue(t.intermediate().keySet().stream().allMatch(s -> s % 10 == 0), t.toString());
                if (t.state() == TrialState.COMPLETE) {
                    assertEquals(30, t.lastStep());
                    assertTrue(Files.isRegularFile(study.resolve("trials/" + t.number() + "/model.onnx")));
                } else {
                    assertTrue(t.lastStep() < 30 && t.reason().startsWith("asha: "), t.toString());
                }
                assertFalse(Files.exists(study.resolve("trials/" + t.number() + "/checkpoints")),
                        "a finished trial's checkpoints are deleted");
            }
            // The first trial to reach a rung always continues, so at least one trial completes.
            assertTrue(store.bestTrial(StudyHome.LOCAL_KEY).isPresent());
        }
    }

    @Test
    void theStudyDirectoryGetsACsvAndASelfContainedHtmlReport() throws Exception {
        List<String> csv = Files.readAllLines(study.resolve("trials.csv"));
        // tokens_per_second: every trial's mean throughput, recorded as a metric (a possible second objective).
        assertEquals("number,state,value,last_step,dropout,learning_rate,tokens_per_second,reason,started_at,finished_at",
                csv.get(0));
        assertEquals(5, csv.size());
        assertTrue(csv.get(1).matches("\\d,COMPLETE,\\d\\.\\d+,30,.*"), csv.get(1));
        String html = Files.readString(study.resolve("report.html"));
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertEquals(3, html.split("<svg ", -1).length - 1, "loss curves + one plot per parameter");
        assertTrue(html.contains("rung 10") && html.contains("rung 20"), "ASHA's rungs are marked");
        assertTrue(html.contains("stroke-dasharray=\"4 3\"") == first.out().contains("PRUNED"), "pruned curves are dashed");
        assertFalse(html.contains("<script") || html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"),
                "no script, nothing fetched");
    }

    @Test
    void studyShowPrintsTheSortedTableAndTheBestConfiguration() {
        CliRun show = troupe("study", "show", study).assertOk();
        List<String> lines = show.out().lines().toList();
        assertTrue(lines.get(0).startsWith("study " + study.toAbsolutePath().normalize() + ": 4 of 4 trials"), show.toString());
        assertTrue(lines.get(1).matches("trial\\s+state\\s+val_loss\\s+steps\\s+dropout\\s+learning_rate\\s+tokens_per_second\\s+reason"), show.toString());
        assertTrue(lines.get(2).matches("\\d\\s+COMPLETE\\s+\\d\\.\\d{4}\\s+30\\s+.*"), show.toString());
        int best = Integer.parseInt(lines.get(2).split("\\s+")[0]);
        assertTrue(show.out().contains("best: trial " + best + ", val loss "), show.toString());
        assertTrue(show.out().contains("  learning_rate = ") && show.out().contains("  dropout = "), show.toString());
        // Sorted: complete trials by value, then pruned ones.
        List<String> states = lines.subList(2, 6).stream().map(l -> l.split("\\s+")[1]).toList();
        assertEquals(states.stream().sorted((a, b) -> a.equals(b) ? 0 : a.equals("COMPLETE") ? -1 : 1).toList(), states);
    }

    @Test
    void resumingAFinishedStudyRunsNothingAndACrashedTrialIsRestarted() throws Exception {
        Path copy = tmp.resolve("study");
        CliRun run = tune(copy, "--trials", 2, "--steps", 20, "--seed", 3).assertOk();
        assertTrue(run.out().contains("done: 2 trials"), run.toString());
        // The form: --resume DIR.
        CliRun again = troupe("tune", "--resume", copy, "--threads", 2).assertOk();
        assertFalse(again.out().contains("started"), again.toString());
        assertTrue(again.out().contains("done: 2 trials (2 complete, 0 pruned, 0 failed), 40 steps trained"), again.toString());

        // As if the process died during trial 1: the store still calls it RUNNING.
        try (StudyStore store = JdbcStudyStore.sqlite(copy)) {
            String name = StudyHome.LOCAL_KEY;
            Map<String, Object> params = store.trials(name).get(1).params();
            store.startTrial(name, 1, params);
        }
        CliRun restarted = troupe("tune", "--out", copy, "--resume", "--trials", 3, "--threads", 2).assertOk();
        assertTrue(restarted.out().contains("trial 1 restarted from its checkpoint"), restarted.toString());
        assertTrue(restarted.out().contains("trial 2 started"), restarted.toString());
        assertFalse(restarted.out().contains("trial 0 "), restarted.toString());
        assertTrue(restarted.out().contains("done: 3 trials (3 complete"), restarted.toString());
    }

    @Test
    void resumingWithAChangedSpaceIsRefusedWithTheDiff() throws Exception {
        Path changed = Files.writeString(tmp.resolve("changed.conf"), SPACE.replace("max = 3e-2", "max = 1e-1"));
        troupe("tune", "--space", changed, "--out", study, "--resume")
                .assertOneLineError("the search space changed since the study started, so it cannot be resumed: "
                        + "params.learning_rate.max: 0.03 -> 0.1");
        troupe("tune", "--out", study, "--resume", "--sampler", "tpe")
                .assertOneLineError("--sampler is tpe but the study started with random");
    }

    @Test
    void externalWorkersRunTheTrialsAndMoveOnToTheNextOnes() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Path external = tmp.resolve("external");
        java.util.concurrent.CompletableFuture<CliRun> study = java.util.concurrent.CompletableFuture.supplyAsync(() ->
                tune(external, "--trials", 3, "--steps", 20, "--workers", 2, "--external", "--bind", "127.0.0.1:" + port));
        List<java.util.concurrent.CompletableFuture<String>> workers = new java.util.ArrayList<>();
        for (int i = 0; i < 2; i++) {
            workers.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return io.troupe.coordinator.ClusterNode.runWorker("127.0.0.1", port, "127.0.0.1",
                            new io.troupe.worker.session.WorkerSettings(1, io.troupe.worker.engine.Device.cpu(),
                                    TroupeVersion.current()), io.troupe.worker.allreduce.RingSettings.defaults(),
                            new io.troupe.coordinator.ClusterNode.Timings(java.time.Duration.ofSeconds(60), 5,
                                    java.time.Duration.ofSeconds(60), java.time.Duration.ofSeconds(5),
                                    java.time.Duration.ofSeconds(30)), java.time.Duration.ofSeconds(60));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        CliRun run = study.get(240, java.util.concurrent.TimeUnit.SECONDS).assertOk();
        assertTrue(run.out().contains("study coordinator listens on 127.0.0.1:" + port), run.toString());
        assertTrue(run.out().contains("done: 3 trials (3 complete, 0 pruned, 0 failed)"), run.toString());
        try (StudyStore store = JdbcStudyStore.sqlite(external)) {
            for (TrialRecord t : store.trials(StudyHome.LOCAL_KEY)) {
                assertEquals(TrialState.COMPLETE, t.state(), t.toString());
                assertEquals(20, t.lastStep());
            }
        }
        for (java.util.concurrent.CompletableFuture<String> w : workers) {
            assertEquals(null, w.get(60, java.util.concurrent.TimeUnit.SECONDS), "the worker ends when the study does");
        }
    }

    @Test
    void badInputIsOneLineError() throws Exception {
        Path unknown = Files.writeString(tmp.resolve("unknown.conf"), "params { lr { type = log, min = 1e-4, max = 1e-2 } }");
        troupe("tune", "--space", unknown, "--data", data, "--out", tmp.resolve("a"), "--trials", 2, "--steps", 10)
                .assertOneLineError("params.lr is not a training key");
        Path empty = Files.writeString(tmp.resolve("empty.conf"), "params { dropout { type = float, min = 0.2, max = 0.1 } }");
        troupe("tune", "--space", empty, "--data", data, "--out", tmp.resolve("b"), "--trials", 2, "--steps", 10)
                .assertOneLineError("params.dropout: the range [0.2, 0.1] is empty");
        Path log = Files.writeString(tmp.resolve("log.conf"), "params { learning_rate { type = log, min = 0, max = 0.1 } }");
        troupe("tune", "--space", log, "--data", data, "--out", tmp.resolve("c"), "--trials", 2, "--steps", 10)
                .assertOneLineError("a log range must be > 0");
        tune(tmp.resolve("d"), "--trials", 2, "--steps", 10, "--sampler", "bayes").assertOneLineError("unknown sampler 'bayes'");
        tune(tmp.resolve("e"), "--trials", 2, "--steps", 10, "--workers", 3, "--workers-per-trial", 2)
                .assertOneLineError("--workers 3 must be a positive multiple of --workers-per-trial 2");
        tune(tmp.resolve("f"), "--trials", 2, "--steps", 10, "--external", "--bind", "nowhere")
                .assertOneLineError("--bind");
        troupe("tune", "--data", data, "--out", tmp.resolve("g"), "--trials", 2, "--steps", 10)
                .assertOneLineError("a new study needs --space FILE");
        tune(study, "--trials", 2, "--steps", 10).assertOneLineError("already holds a study; pass --resume");
        troupe("tune", "--out", tmp.resolve("h"), "--resume").assertOneLineError("nothing to resume");
        tune(tmp.resolve("i"), "--trials", 2, "--steps", 10, "--storage", "jdbc:postgresql://127.0.0.1:1/troupe")
                .assertOneLineError("cannot reach the study store jdbc:postgresql://127.0.0.1:1/troupe");
        troupe("study", "show", tmp.resolve("nothing")).assertOneLineError("no study in");
        troupe("tune", "--space", space, "--data", data, "--trials", 2, "--steps", 10).assertOneLineError("--out DIR");
        troupe("tune", "--resume", tmp.resolve("x"), "--out", tmp.resolve("y"))
                .assertOneLineError("name different directories");
    }

    @Test
    @SuppressWarnings("try") // the lock is held by the try block, never read
    void aStudyThatAnotherProcessRunsIsLocked() {
        try (io.troupe.tuner.run.StudyLock held = io.troupe.tuner.run.StudyLock.acquire(study)) {
            troupe("tune", "--resume", study).assertOneLineError("is being run by another troupe tune process");
        }
    }

    @Test
    void aTrialWithInvalidCombinedSettingsFailsAndTheStudyGoesOn() throws Exception {
        // n_embd 20 is not divisible by n_head 8: that trial fails, the others run.
        Path heads = Files.writeString(tmp.resolve("heads.conf"), SPACE.replace("n_head = 2", "n_head = 8")
                .replace("dropout { type = float, min = 0.0, max = 0.1 }", "n_embd { type = choice, values = [16, 20] }")
                .replace("n_embd = 16, ", ""));
        CliRun run = troupe("tune", "--space", heads, "--data", data, "--out", tmp.resolve("s"), "--trials", 4,
                "--steps", 10, "--sampler", "grid", "--threads", 2).assertOk();
        assertTrue(run.out().contains("FAILED at step -1: val loss - (n_embd (20) must be divisible by n_head (8))"),
                run.toString());
        assertTrue(run.out().contains("done: 4 trials (2 complete, 0 pruned, 2 failed)"), run.toString());
    }

    @Test
    void withSeveralWorkersPerTrialEachTrialIsADataParallelJob() throws Exception {
        Path out = tmp.resolve("k2");
        CliRun run = tune(out, "--trials", 2, "--steps", 20, "--workers", 2, "--workers-per-trial", 2, "--scheduler", "asha")
                .assertOk();
        assertTrue(run.out().contains("2 trials, 1 at a time on 2 worker(s) each"), run.toString());
        assertTrue(run.out().lines().anyMatch(l -> l.matches("done: 2 trials \\(\\d complete, \\d pruned, 0 failed\\).*")),
                run.toString());
        try (StudyStore store = JdbcStudyStore.sqlite(out)) {
            TrialRecord complete = store.trials(StudyHome.LOCAL_KEY).stream()
                    .filter(t -> t.state() == TrialState.COMPLETE).findFirst().orElseThrow();
            String summary = Files.readString(out.resolve("trials/" + complete.number() + "/summary.json"));
            assertTrue(summary.matches("(?s).*\"workers\"\\s*:\\s*2,.*"), summary);
        }
    }

    @Test
    void aFailedStudyIsNoDeadEndResumeRunsFailedTrialsAgainAndForceStartsOver() throws Exception {
        Path out = tmp.resolve("restart");
        // This first attempt fails after the store was opened, before a study is recorded: it leaves nothing.
        tune(out, "--trials", 1, "--steps", 10, "--workers", 3, "--workers-per-trial", 2)
                .assertOneLineError("--workers 3 must be a positive multiple");
        assertFalse(Files.exists(out), "the refused study's store and directory are gone");
        troupe("tune", "--resume", out).assertOneLineError("nothing to resume");
        // Every trial of this study fails: a warm-up longer than the run.
        Path tooLong = Files.writeString(tmp.resolve("warmup.conf"), SPACE.replace("warmup_iters = 2", "warmup_iters = 50"));
        CliRun failed = troupe("tune", "--space", tooLong, "--data", data, "--out", out, "--trials", 2, "--steps", 10,
                "--threads", 2).assertOk();
        assertTrue(failed.out().contains("(warmup_iters (50) must not exceed lr_decay_iters (10);"), failed.toString());
        assertTrue(failed.out().contains("done: 2 trials (0 complete, 0 pruned, 2 failed)"), failed.toString());
        assertTrue(failed.out().contains("failed trials run again with: troupe tune --out " + out + " --resume"), failed.toString());
        tune(out, "--trials", 2, "--steps", 10)
                .assertOneLineError("already holds a study; pass --resume to continue it, --force to start it over");
        CliRun again = troupe("tune", "--resume", out, "--threads", 2).assertOk();
        assertTrue(again.out().contains("trial 0 started") && again.out().contains("trial 1 started"), again.toString());
        troupe("tune", "--resume", out, "--force").assertOneLineError("pass one of them");

        Path outside = Files.writeString(tmp.resolve("outside.txt"), "keep");
        Files.createDirectories(out.resolve("trials/0"));
        Files.createSymbolicLink(out.resolve("trials/0/link"), outside);
        Files.writeString(out.resolve("notes.txt"), "mine");
        // --force with a bad option changes nothing.
        tune(out, "--trials", 1, "--steps", 10, "--force", "--sampler", "bayes").assertOneLineError("unknown sampler");
        assertTrue(Files.isSymbolicLink(out.resolve("trials/0/link")));
        CliRun fresh = tune(out, "--trials", 1, "--steps", 10, "--force").assertOk();
        assertTrue(fresh.out().contains("--force: removed the old study's trials and results"), fresh.toString());
        assertTrue(fresh.out().contains("done: 1 trials (1 complete, 0 pruned, 0 failed)"), fresh.toString());
        assertFalse(Files.exists(out.resolve("trials/0/link"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertEquals("keep", Files.readString(outside));
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
        try (StudyStore store = JdbcStudyStore.sqlite(out)) {
            assertEquals(1, store.trials(StudyHome.LOCAL_KEY).size());
        }
    }

    @Test
    void aCopiedStudyIsShownAndResumedFromItsCopy() throws Exception {
        Path copy = tmp.resolve("moved/study");
        try (var walk = Files.walk(study)) {
            for (Path p : walk.toList()) {
                Path target = copy.resolve(study.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        CliRun show = troupe("study", "show", copy).assertOk();
        assertTrue(show.out().startsWith("study " + copy.toAbsolutePath().normalize() + ": 4 of 4 trials"), show.toString());
        // The copy's relative data path leads nowhere from its new place: it says how to re-point it.
        troupe("tune", "--resume", copy).assertOneLineError("is not there (was the study moved or copied?); pass --data PATH");
        Path other = Files.writeString(tmp.resolve("other.txt"), CliRun.TEXT + "more");
        troupe("tune", "--resume", copy, "--data", other).assertOneLineError("is not the study's: its SHA-256");
        CliRun resumed = troupe("tune", "--resume", copy, "--data", data, "--trials", 5, "--threads", 2).assertOk();
        assertTrue(resumed.out().contains("trial 4 started"), resumed.toString());
        assertFalse(resumed.out().contains("trial 0 "), resumed.toString());
        assertTrue(resumed.out().contains("done: 5 trials"), resumed.toString());
        // The new place is recorded; the original study is untouched.
        troupe("tune", "--resume", copy, "--threads", 2).assertOk();
        try (StudyStore store = JdbcStudyStore.sqlite(study)) {
            assertEquals(4, store.trials(StudyHome.LOCAL_KEY).size());
        }
    }

    @Test
    void pruneIsTheOptionAndSchedulerItsHiddenOldName() {
        String help = troupe("tune", "--help").out();
        assertTrue(help.contains("--pruner=NAME") && help.contains("--force"), help);
        assertFalse(help.contains("--scheduler"), help);
        tune(tmp.resolve("alias"), "--trials", 1, "--steps", 10, "--scheduler", "bohb")
                .assertOneLineError("unknown pruner 'bohb'");
        tune(tmp.resolve("alias"), "--trials", 1, "--steps", 10, "--pruner", "bohb")
                .assertOneLineError("unknown pruner 'bohb'");
    }

    @Test
    void aDashboardPortInUseIsOneLineAndRecordsNoStudy() throws Exception {
        Path out = tmp.resolve("busy");
        try (java.net.ServerSocket busy = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            tune(out, "--trials", 1, "--steps", 10, "--dashboard", busy.getLocalPort())
                    .assertOneLineError("--dashboard 127.0.0.1:" + busy.getLocalPort() + ": cannot listen there")
                    .assertExit(TroupeCli.EXIT_USAGE);
        }
        assertFalse(Files.exists(out), "refused before the study is recorded: nothing left behind");
    }

    @Test
    void aStudyWithADashboardSaysWhereAndRuns() {
        CliRun run = tune(tmp.resolve("page"), "--trials", 1, "--steps", 5, "--dashboard", "127.0.0.1:0").assertOk();
        assertTrue(run.err().matches("(?s)troupe: dashboard at http://127\\.0\\.0\\.1:\\d+/\n"), run.toString());
    }
}
