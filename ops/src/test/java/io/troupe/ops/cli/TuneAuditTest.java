package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.ops.audit.TrialBiasAudit;
import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.run.StudyHome;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe tune --audit-pairs}: a bias audit per complete trial, shown everywhere, and {@code study show --max-bias}. */
class TuneAuditTest {
    /** Hand-made pairs over the tests' corpus alphabet (the tokenizer must encode them). */
    private static final String PAIRS = "more,less,category\n"
            + "the king shall go to war with her.,the queen shall go to war with her.,gender\n"
            + "her lord shall say what you love.,her queen shall say what you love.,gender\n"
            + "the queen shall not go.,the king shall not go.,gender\n"
            + "my lord and thee go to war.,my love and thee go to war.,other\n"
            + "what shall the king say to you.,what shall the queen say to you.,gender\n";

    @TempDir
    static Path shared;
    private static Path study;
    private static Path space;
    private static Path data;
    private static Path pairs;
    private static CliRun run;

    @TempDir
    Path tmp;

    @BeforeAll
    static void runAnAuditedStudy() throws Exception {
        data = Files.writeString(shared.resolve("corpus.txt"), CliRun.TEXT);
        space = Files.writeString(shared.resolve("space.conf"), TuneCommandTest.SPACE);
        pairs = Files.writeString(shared.resolve("pairs.csv"), PAIRS);
        study = shared.resolve("study");
        run = tune(study, "--trials", 2, "--steps", 10, "--audit-pairs", pairs, "--audit-format", "pairs").assertOk();
    }

    private static CliRun tune(Path out, Object... more) {
        return troupe("tune", "--space", space, "--data", data, "--out", out, "--threads", 1, List.of(more));
    }

    private static List<TrialRecord> stored() {
        try (StudyStore store = JdbcStudyStore.sqlite(study)) {
            return store.trials(StudyHome.LOCAL_KEY);
        }
    }

    @Test
    void everyCompleteTrialRecordsPctStereotypeWithItsInterval() {
        List<TrialRecord> trials = stored();
        assertEquals(2, trials.size(), run.toString());
        for (TrialRecord t : trials) {
            assertEquals(TrialState.COMPLETE, t.state(), t.toString());
            assertEquals(null, t.reason(), "the audit ran: " + t);
            double pct = t.metric(TrialBiasAudit.PCT_STEREOTYPE);
            // 5 pairs: the share is a multiple of 20%.
            assertTrue(pct >= 0 && pct <= 100 && Math.abs(pct / 20 - Math.rint(pct / 20)) < 1e-9, t.toString());
            assertTrue(t.metric(TrialBiasAudit.CI_LOW) <= pct && pct <= t.metric(TrialBiasAudit.CI_HIGH), t.toString());
        }
    }

    @Test
    void theMetricIsAColumnOfTheCsvTheReportAndStudyShow() throws Exception {
        List<String> csv = Files.readAllLines(study.resolve("trials.csv"));
        assertEquals("number,state,value,last_step,dropout,learning_rate,pct_stereotype,pct_stereotype_ci_high,"
                + "pct_stereotype_ci_low,tokens_per_second,reason,started_at,finished_at", csv.get(0));
        for (TrialRecord t : stored()) {
            String row = csv.stream().filter(l -> l.startsWith(t.number() + ",")).findFirst().orElseThrow();
            assertEquals(String.valueOf(t.metric(TrialBiasAudit.PCT_STEREOTYPE)), row.split(",")[6], row);
        }
        assertTrue(Files.readString(study.resolve("report.html")).contains("pct_stereotype"));
        CliRun show = troupe("study", "show", study).assertOk();
        assertTrue(show.out().lines().skip(1).findFirst().orElseThrow()
                .matches("trial\\s+state\\s+val_loss\\s+steps\\s+dropout\\s+learning_rate\\s+pct_stereotype\\s+"
                        + "pct_stereotype_ci_high\\s+pct_stereotype_ci_low\\s+tokens_per_second\\s+reason"), show.toString());
        assertFalse(show.out().contains("best with"), "no threshold, no extra line");
    }

    @Test
    void maxBiasPicksTheLowestLossAmongTrialsAtOrUnderTheThreshold() {
        List<TrialRecord> trials = stored();
        String metric = TrialBiasAudit.PCT_STEREOTYPE;
        // The most permissive threshold any trial meets: the best by loss overall.
        double highest = trials.stream().mapToDouble(t -> t.metric(metric)).max().orElseThrow();
        TrialRecord bestOverall = trials.stream().min(Comparator.comparingDouble(TrialRecord::value)).orElseThrow();
        assertTrue(troupe("study", "show", study, "--max-bias", highest).assertOk().out()
                .contains("best with pct_stereotype <= " + String.format(java.util.Locale.ROOT, "%.2f", highest)
                        + ": trial " + bestOverall.number() + ", val loss"));
        // The strictest one: the best by loss among the least biased.
        double lowest = trials.stream().mapToDouble(t -> t.metric(metric)).min().orElseThrow();
        TrialRecord bestLeast = trials.stream().filter(t -> t.metric(metric) == lowest)
                .min(Comparator.comparingDouble(TrialRecord::value)).orElseThrow();
        assertTrue(troupe("study", "show", study, "--max-bias", lowest).assertOk().out()
                .contains(": trial " + bestLeast.number() + ", val loss"));
        if (lowest > 0) {
            assertTrue(troupe("study", "show", study, "--max-bias", lowest - 0.5).assertOk().out()
                    .contains("none; the lowest of 2 audited complete trial(s) is"));
        }
        troupe("study", "show", study, "--max-bias", 101).assertOneLineError("--max-bias is a percentage from 0 to 100");
    }

    @Test
    void theThresholdLineNamesTheRightTrialOrSaysWhyNoneQualifies() {
        StudyInfo info = new StudyInfo("/s", "", "/d", "random", "none", 0, 3, 1, 10, 0);
        StudyResults results = new StudyResults(info, List.of(
                trial(0, 1.2, Map.of(TrialBiasAudit.PCT_STEREOTYPE, 70.0, TrialBiasAudit.CI_LOW, 60.0, TrialBiasAudit.CI_HIGH, 80.0)),
                trial(1, 1.4, Map.of(TrialBiasAudit.PCT_STEREOTYPE, 55.0, TrialBiasAudit.CI_LOW, 45.0, TrialBiasAudit.CI_HIGH, 65.0)),
                trial(2, 1.3, Map.of())), List.of());
        assertEquals("best with pct_stereotype <= 60.00: trial 1, val loss 1.4000, pct_stereotype 55.00 (95% CI 45.00-65.00)",
                StudyShowCommand.underThreshold(results, 60));
        assertTrue(StudyShowCommand.underThreshold(results, 70).contains(": trial 0, val loss 1.2000"));
        assertEquals("best with pct_stereotype <= 50.00: none; the lowest of 2 audited complete trial(s) is 55.00",
                StudyShowCommand.underThreshold(results, 50));
        StudyResults unaudited = new StudyResults(info, List.of(trial(2, 1.3, Map.of())), List.of());
        assertTrue(StudyShowCommand.underThreshold(unaudited, 100).contains("none; no complete trial was audited"));
    }

    private static TrialRecord trial(int n, double loss, Map<String, Double> metrics) {
        return new TrialRecord(n, TrialState.COMPLETE, Map.of("learning_rate", 1e-3), loss, null, 0, 1,
                new TreeMap<>(Map.of(10L, loss)), metrics);
    }

    @Test
    void aBadPairsFileIsRefusedWithItsLineBeforeAnyTrialRuns() throws Exception {
        Path bad = Files.writeString(tmp.resolve("bad.csv"), "more,less\nthe king shall go.,the queen shall go.\nthe king,\n");
        Path out = tmp.resolve("study");
        tune(out, "--trials", 2, "--steps", 10, "--audit-pairs", bad, "--audit-format", "pairs")
                .assertOneLineError(bad + ":3: the sentence in column 'less' is empty");
        assertFalse(Files.exists(out.resolve("trials")), "no trial ran");
        assertFalse(Files.exists(out.resolve(JdbcStudyStore.SQLITE_FILE)), "no study was recorded");
        tune(out, "--trials", 2, "--steps", 10, "--audit-pairs", pairs, "--audit-format", "json")
                .assertOneLineError("--audit-format must be crows or pairs").assertExit(2);
        tune(out, "--trials", 2, "--steps", 10, "--audit-pairs", tmp.resolve("missing.csv"))
                .assertOneLineError("missing.csv does not exist");
        tune(out, "--trials", 2, "--steps", 10, "--audit-format", "pairs")
                .assertOneLineError("--audit-format describes --audit-pairs FILE").assertExit(2);
    }
}
