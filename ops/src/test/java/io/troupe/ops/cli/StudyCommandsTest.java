package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * After a study: {@code study show --json}, {@code study best --export} into {@code train --config},
 * {@code study importance}, the multi-objective front and {@code --pick}, and their bad input.
 */
class StudyCommandsTest {
    private static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    private static Path data;
    private static Path space;
    /** A finished 4-trial, 20-step, two-objective study. */
    private static Path study;

    @TempDir
    Path tmp;

    @BeforeAll
    static void runOneStudy() throws Exception {
        data = Files.isRegularFile(SHAKESPEARE) ? SHAKESPEARE : Files.writeString(shared.resolve("corpus.txt"), CliRun.TEXT);
        space = Files.writeString(shared.resolve("space.conf"), TuneCommandTest.SPACE.replace("n_embd = 16,", "")
                + "params.n_embd { type = choice, values = [16, 32] }\n");
        study = shared.resolve("study");
        troupe("tune", "--space", space, "--data", data, "--out", study, "--threads", 1, "--trials", 4, "--steps", 20,
                "--objective", "val_loss,tokens_per_second").assertOk();
    }

    @Test
    void showJsonHasEveryTrialTheBestValueAndTheTotalSteps() throws Exception {
        CliRun run = troupe("study", "show", study, "--json").assertOk();
        JsonNode o = JSON.readTree(run.out());
        assertEquals(4, o.get("trials").size(), run.toString());
        assertEquals(80, o.get("total_steps").asLong(), "4 full trials of 20 steps");
        double min = Double.POSITIVE_INFINITY;
        for (JsonNode t : o.get("trials")) {
            assertEquals("COMPLETE", t.get("state").asText());
            assertTrue(t.get("metrics").get("tokens_per_second").asDouble() > 0, t.toString());
            assertTrue(t.get("metrics").has("pareto_front"), "the front is kept in the store: " + t);
            assertTrue(t.get("values").has("20"), t.toString());
            min = Math.min(min, t.get("value").asDouble());
        }
        assertEquals(min, o.get("best_value").asDouble(), 0);
    }

    @Test
    void bestExportsATrainConfigThatTrainAccepts() throws Exception {
        Path conf = tmp.resolve("best.conf");
        CliRun best = troupe("study", "best", study, "--export", conf).assertOk();
        JsonNode show = JSON.readTree(troupe("study", "show", study, "--json").assertOk().out());
        int number = show.get("best_trial").asInt();
        assertTrue(best.out().startsWith("best: trial " + number + ","), best.toString());
        String text = Files.readString(conf);
        double lr = show.get("best_params").get("learning_rate").asDouble();
        assertTrue(text.contains("learning_rate = " + lr + "\n"), text);
        assertTrue(text.contains("max_iters = 20\n") && text.contains("lr_decay_iters = 20\n"), text);

        // Over an existing file: refused unless --force.
        troupe("study", "best", study, "--export", conf).assertOneLineError("already exists; pass --force");
        troupe("study", "best", study, "--export", conf, "--force").assertOk();

        // train --config repeats the trial: same settings in its summary.
        Path run = tmp.resolve("run");
        troupe("train", "--config", conf, "--data", data, "--out", run, "--threads", 1).assertOk();
        JsonNode summary = JSON.readTree(Files.readString(run.resolve("summary.json")));
        JsonNode settings = summary.get("config");
        assertEquals(lr, settings.get("learning_rate").asDouble(), 0, summary.toString());
        assertEquals(20, settings.get("max_iters").asLong());
        assertEquals(show.get("best_params").get("n_embd").asInt(), settings.get("n_embd").asInt());

        Path bad = Files.writeString(tmp.resolve("bad.conf"), "learning_rate = 1e-3\nlerning_rate = 2\n");
        troupe("train", "--config", bad, "--data", data, "--out", tmp.resolve("r2")).assertOneLineError(
                "bad.conf line 2: 'lerning_rate' is not a training key");
    }

    @Test
    void importanceRanksEveryParameter() {
        CliRun run = troupe("study", "importance", study).assertOk();
        assertTrue(run.out().startsWith("parameter importance over 4 complete trials"), run.toString());
        for (String p : List.of("learning_rate", "dropout", "n_embd")) {
            assertTrue(run.out().contains("  " + p + " "), run.toString());
        }
        String html = assertHtml();
        assertTrue(html.contains("Parameter importance"), "also in report.html");
        assertTrue(html.contains("Pareto front"), "the front is drawn in report.html");
    }

    private String assertHtml() {
        try {
            return Files.readString(study.resolve("report.html"));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void pickChoosesFromTheParetoFront() throws Exception {
        JsonNode show = JSON.readTree(troupe("study", "show", study, "--json").assertOk().out());
        int fastest = -1;
        double best = -1;
        for (JsonNode t : show.get("trials")) {
            double tps = t.get("metrics").get("tokens_per_second").asDouble();
            if (tps > best) {
                best = tps;
                fastest = t.get("number").asInt();
            }
        }
        assertTrue(troupe("study", "best", study, "--pick", "tokens_per_second:max").assertOk().out()
                .startsWith("best: trial " + fastest + ","));
        assertTrue(troupe("study", "best", study, "--pick", "first").assertOk().out()
                .startsWith("best: trial " + show.get("best_trial").asInt() + ","));
        troupe("study", "best", study, "--pick", "knee").assertOk();
        troupe("study", "best", study, "--pick", "accuracy:max").assertOneLineError("the study's objectives are");
    }

    /**
     * PBT end to end on real training: 4 members, 20 steps, exploit at step 10 (eval every 10):
     * the worst member copies the best one's checkpoint and goes on; the lineage is in the store
     * and in report.html. A population of 1 is refused before anything is written.
     */
    @Test
    void populationBasedTrainingCopiesCheckpointsAndDrawsTheLineage() throws Exception {
        Path pbt = tmp.resolve("pbt");
        CliRun run = troupe("tune", "--space", space, "--data", data, "--out", pbt, "--threads", 1, "--trials", 4,
                "--steps", 20, "--pruner", "pbt", "--seed", 1).assertOk();
        assertTrue(run.out().contains("done: 4 trials (4 complete, 0 pruned, 0 failed), 80 steps trained of 80"), run.toString());
        try (io.troupe.tuner.store.StudyStore store = io.troupe.tuner.store.JdbcStudyStore.sqlite(pbt)) {
            List<io.troupe.tuner.store.LineageEvent> lineage = store.lineage(io.troupe.tuner.run.StudyHome.LOCAL_KEY);
            assertEquals(1, lineage.size(), lineage.toString());
            assertEquals(10, lineage.get(0).step());
        }
        // Two members at a time, one worker each: the same study (values, copies) as one at a time.
        Path pair = tmp.resolve("pbt-pair");
        troupe("tune", "--space", space, "--data", data, "--out", pair, "--threads", 1, "--workers", 2, "--trials", 4,
                "--steps", 20, "--pruner", "pbt", "--seed", 1).assertOk();
        try (io.troupe.tuner.store.StudyStore one = io.troupe.tuner.store.JdbcStudyStore.sqlite(pbt);
             io.troupe.tuner.store.StudyStore two = io.troupe.tuner.store.JdbcStudyStore.sqlite(pair)) {
            String key = io.troupe.tuner.run.StudyHome.LOCAL_KEY;
            assertEquals(one.lineage(key).stream().map(e -> List.of(e.step(), e.number(), e.parent())).toList(),
                    two.lineage(key).stream().map(e -> List.of(e.step(), e.number(), e.parent())).toList());
            assertEquals(one.trials(key).stream().map(t -> t.intermediate()).toList(),
                    two.trials(key).stream().map(t -> t.intermediate()).toList(), "every member's val losses");
        }
        String html = Files.readString(pbt.resolve("report.html"));
        assertTrue(html.contains("Population-based training lineage"), "lineage drawn in the report");
        // A member's final settings did not produce its value: importance says so instead of ranking them.
        assertTrue(html.contains("Parameter importance</h2>\n<p>Not computed: a population-based study"), "no ranking in the report");
        troupe("study", "importance", pbt).assertOneLineError("importance is not computed for")
                .assertOneLineError("members change their settings during training");
        troupe("tune", "--space", space, "--data", data, "--out", tmp.resolve("one"), "--trials", 1, "--steps", 20,
                "--pruner", "pbt").assertOneLineError("needs a population of at least 2, got 1");
        assertFalse(Files.exists(tmp.resolve("one")), "a refused study leaves no directory behind (no empty study.db)");
    }

    @Test
    void badInputIsOneLineError() throws Exception {
        troupe("tune", "--space", space, "--data", data, "--out", tmp.resolve("a"), "--trials", 2, "--steps", 10,
                "--objective", "val_loss,accuracy").assertOneLineError("--objective accuracy: the trials do not report it");
        Path empty = Files.writeString(tmp.resolve("empty.conf"),
                "# a comment\nparams {\n  dropout { type = float, min = 0.2, max = 0.1 }\n}\n");
        troupe("tune", "--space", empty, "--data", data, "--out", tmp.resolve("b"), "--trials", 2, "--steps", 10)
                .assertOneLineError("empty.conf line 3: params.dropout: the range [0.2, 0.1] is empty");
        Path type = Files.writeString(tmp.resolve("type.conf"), "params {\n  dropout { type = gaussian, min = 0, max = 0.1 }\n}\n");
        troupe("tune", "--space", type, "--data", data, "--out", tmp.resolve("c"), "--trials", 2, "--steps", 10)
                .assertOneLineError("type.conf line 2: params.dropout: type must be float, log, int or choice, got 'gaussian'");
        troupe("study", "best", tmp.resolve("none")).assertOneLineError("no study in");
        troupe("study", "importance", tmp.resolve("none")).assertOneLineError("no study in");
    }
}
