package io.troupe.ops.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.tuner.pruner.AshaPruner;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.TrialState;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A study's page: trial states (paused included), values and curves, whole first and then as deltas. */
public class StudyDashboardTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final StudyInfo STUDY = new StudyInfo("/s", "", "/d", "random", "asha", 0, 4, 1, 300, 0);

    @TempDir
    Path tmp;

    /** Trials 0 complete, 1 paused by ASHA, 2 running with two reports, 3 failed. */
    public static void fill(JdbcStudyStore store) {
        store.createStudy(STUDY);
        store.startTrial("/s", 0, Map.of("lr", 0.01));
        store.report("/s", 0, 100, 3.0);
        store.report("/s", 0, 200, 2.5);
        store.finishTrial("/s", 0, TrialState.COMPLETE, 2.5, null);
        store.startTrial("/s", 1, Map.of("lr", 0.1));
        store.report("/s", 1, 100, 3.5);
        store.finishTrial("/s", 1, TrialState.PRUNED, 3.5, AshaPruner.PAUSED + " at rung 0");
        store.startTrial("/s", 2, Map.of("lr", 0.001));
        store.report("/s", 2, 100, 3.2);
        store.report("/s", 2, 200, 3.1);
        store.startTrial("/s", 3, Map.of("lr", 1.0));
        store.finishTrial("/s", 3, TrialState.FAILED, Double.NaN, "diverged: loss is NaN at step 7");
    }

    @Test
    void showsEachTrialsStateAndCurveThenOnlyWhatChanged() throws Exception {
        try (JdbcStudyStore store = JdbcStudyStore.sqlite(tmp)) {
            fill(store);
            StudyDashboard feed = new StudyDashboard(store, STUDY, Clock.systemUTC(), Duration.ZERO);
            StudyDashboard.Cursor cursor = feed.cursor();
            JsonNode first = JSON.readTree(feed.next(cursor));
            assertEquals("study", first.get("kind").asText());
            assertTrue(first.get("full").asBoolean());
            JsonNode trials = first.get("trials");
            assertEquals(4, trials.size());
            assertEquals("complete", trials.get(0).get("state").asText());
            assertEquals(2.5, trials.get(0).get("value").asDouble());
            assertEquals("paused", trials.get(1).get("state").asText(), "ASHA's pause is not a prune: " + trials.get(1));
            assertEquals("running", trials.get(2).get("state").asText());
            assertEquals(200, trials.get(2).get("lastStep").asLong());
            assertFalse(trials.get(2).has("value"), "a running trial has no value yet");
            assertEquals("failed", trials.get(3).get("state").asText());
            assertEquals("0.001", trials.get(2).get("params").get("lr").asText());
            assertEquals("[[100,3.2],[200,3.1]]", first.get("curves").get("2").get("points").toString());
            assertEquals(1, first.get("counts").get("paused").asInt());
            assertEquals(1, first.get("counts").get("running").asInt());

            JsonNode quiet = JSON.readTree(feed.next(cursor));
            assertEquals(0, quiet.get("trials").size(), "nothing changed: " + quiet);
            assertEquals(0, quiet.get("curves").size());

            store.report("/s", 2, 300, 3.0);
            store.finishTrial("/s", 2, TrialState.COMPLETE, 3.0, null);
            store.startTrial("/s", 1, Map.of("lr", 0.1)); // ASHA promotes the paused trial
            JsonNode delta = JSON.readTree(feed.next(cursor));
            assertEquals(2, delta.get("trials").size(), "the two rows that changed: " + delta);
            assertEquals("running", delta.get("trials").get(0).get("state").asText());
            assertEquals("complete", delta.get("trials").get(1).get("state").asText());
            assertEquals("[[300,3.0]]", delta.get("curves").get("2").get("points").toString(), "only the new point");
            assertFalse(delta.get("curves").has("0"));

            store.clearValues("/s", 2); // run again from scratch
            store.startTrial("/s", 2, Map.of("lr", 0.001));
            store.report("/s", 2, 100, 3.3);
            JsonNode again = JSON.readTree(feed.next(cursor));
            assertTrue(again.get("curves").get("2").get("reset").asBoolean(), again.toString());
            assertEquals("[[100,3.3]]", again.get("curves").get("2").get("points").toString());
        }
    }

    @Test
    void readsTheStoreAtMostOncePerRefreshWhateverTheStreams() throws Exception {
        try (JdbcStudyStore store = JdbcStudyStore.sqlite(tmp)) {
            store.createStudy(STUDY);
            StudyDashboard feed = new StudyDashboard(store, STUDY, Clock.systemUTC(), Duration.ofHours(1));
            assertEquals(0, JSON.readTree(feed.next(feed.cursor())).get("trials").size());
            store.startTrial("/s", 0, Map.of("lr", 0.01));
            assertEquals(0, JSON.readTree(feed.next(feed.cursor())).get("trials").size(), "read within the hour");
        }
    }
}
