package io.troupe.tuner.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.TuneException;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A study's key and data path survive a move; a store written by the first release still opens; --force. */
class StudyHomeTest {
    private static final SearchSpace SPACE = SearchSpace.parse("params { dropout { type = float, min = 0, max = 0.2 } }");

    @TempDir
    Path tmp;

    private StudyInfo newStudy(StudyHome home, StudyData data) {
        return new StudyInfo(home.newKey(), SPACE.canonical(), data.stored(), "random", "asha", 1, 3, 1, 100, 0,
                data.sha256());
    }

    @Test
    void aStudyDirectoryMovedWithItsDataFindsBothAndOneMovedAloneIsPointedAtItsData() throws Exception {
        Path project = tmp.resolve("project");
        Path data = Files.writeString(Files.createDirectories(project.resolve("data")).resolve("input.txt"), "some text\n");
        Path dir = project.resolve("runs/study");
        StudyHome home = new StudyHome(dir, null);
        try (StudyStore store = home.open()) {
            StudyInfo study = Studies.begin(store, newStudy(home, StudyData.of(dir, data)), SPACE, false);
            assertEquals(StudyHome.LOCAL_KEY, study.name());
            assertEquals(Path.of("..", "..", "data", "input.txt").toString(), study.data(), "relative to the study");
            store.startTrial(study.name(), 0, Map.of("dropout", 0.1));
        }

        // The whole project moved: the relative path still leads to the data.
        Path movedProject = tmp.resolve("elsewhere");
        copy(project, movedProject);
        Path movedDir = movedProject.resolve("runs/study");
        StudyHome moved = new StudyHome(movedDir, null);
        try (StudyStore store = moved.open()) {
            StudyInfo study = moved.find(store).orElseThrow();
            StudyData found = StudyData.resume(movedDir, study.data(), study.dataSha256(), null);
            assertEquals(movedProject.resolve("data/input.txt").toAbsolutePath().normalize(), found.path());
            assertEquals(1, store.trials(study.name()).size());
        }

        // The study directory alone, copied: its data must be named, and must be the same data.
        Path alone = tmp.resolve("alone");
        copy(dir, alone);
        StudyHome copied = new StudyHome(alone, null);
        try (StudyStore store = copied.open()) {
            StudyInfo study = copied.find(store).orElseThrow();
            TuneException missing = assertThrows(TuneException.class,
                    () -> StudyData.resume(alone, study.data(), study.dataSha256(), null));
            assertTrue(missing.getMessage().contains("is not there (was the study moved or copied?); pass --data PATH"),
                    missing.getMessage());
            Path other = Files.writeString(tmp.resolve("other.txt"), "other text\n");
            Path folder = Files.createDirectories(tmp.resolve("plain-folder"));
            TuneException notADataset = assertThrows(TuneException.class,
                    () -> StudyData.resume(alone, study.data(), study.dataSha256(), folder));
            assertTrue(notADataset.getMessage().contains("is a directory without manifest.json"), notADataset.getMessage());
            TuneException wrong = assertThrows(TuneException.class,
                    () -> StudyData.resume(alone, study.data(), study.dataSha256(), other));
            assertTrue(wrong.getMessage().contains("is not the study's: its SHA-256"), wrong.getMessage());

            StudyData repointed = StudyData.resume(alone, study.data(), study.dataSha256(), data);
            StudyInfo requested = study.withData(repointed.stored(), repointed.sha256());
            Studies.begin(store, requested, SPACE, true);
            assertEquals(repointed.stored(), copied.find(store).orElseThrow().data(), "the new place is recorded");
            assertEquals(data.toAbsolutePath().normalize(),
                    StudyData.resume(alone, copied.find(store).orElseThrow().data(), study.dataSha256(), null).path());
        }
    }

    @Test
    void aStoreWrittenByTheFirstReleaseOpensAndResumesFromAnotherDirectory() throws Exception {
        // The first release's tables, as its JdbcStudyStore created them: the study keyed by the
        // absolute directory it ran in, its data absolute, no fingerprint column.
        Path dir = Files.createDirectories(tmp.resolve("copied-here"));
        Path data = Files.writeString(tmp.resolve("input.txt"), "some text\n");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("study.db"));
             Statement s = c.createStatement()) {
            s.execute("CREATE TABLE troupe_studies (name VARCHAR(2000) PRIMARY KEY, space TEXT NOT NULL,"
                    + " data TEXT NOT NULL, sampler VARCHAR(32) NOT NULL, scheduler VARCHAR(32) NOT NULL,"
                    + " seed BIGINT NOT NULL, trials INTEGER NOT NULL, workers_per_trial INTEGER NOT NULL,"
                    + " steps BIGINT NOT NULL, created_at BIGINT NOT NULL, best_trial INTEGER)");
            s.execute("CREATE TABLE troupe_trials (study VARCHAR(2000) NOT NULL, number INTEGER NOT NULL,"
                    + " state VARCHAR(16) NOT NULL, params TEXT NOT NULL, value DOUBLE PRECISION, reason TEXT,"
                    + " started_at BIGINT NOT NULL, finished_at BIGINT, PRIMARY KEY (study, number))");
            s.execute("CREATE TABLE troupe_trial_values (study VARCHAR(2000) NOT NULL, number INTEGER NOT NULL,"
                    + " step BIGINT NOT NULL, value DOUBLE PRECISION, reported_at BIGINT NOT NULL,"
                    + " PRIMARY KEY (study, number, step))");
            s.execute("INSERT INTO troupe_studies VALUES ('/old/place/study', '" + SPACE.canonical() + "', '"
                    + data.toAbsolutePath() + "', 'random', 'median', 1, 2, 1, 100, 0, 0)");
            s.execute("INSERT INTO troupe_trials VALUES ('/old/place/study', 0, 'COMPLETE', '{\"dropout\":0.1}', 2.5,"
                    + " NULL, 0, 1)");
            s.execute("INSERT INTO troupe_trial_values VALUES ('/old/place/study', 0, 100, 2.5, 1)");
        }
        StudyHome home = new StudyHome(dir, null);
        try (StudyStore store = home.open()) {
            StudyInfo old = home.find(store).orElseThrow();
            assertEquals("/old/place/study", old.name());
            assertEquals("median", old.pruner(), "read from the scheduler column");
            assertEquals(null, old.dataSha256());
            assertEquals(List.of(100L), List.copyOf(store.trials(old.name()).get(0).intermediate().keySet()));
            StudyData found = StudyData.resume(dir, old.data(), old.dataSha256(), null);
            StudyInfo resumed = Studies.begin(store, old.withData(found.stored(), found.sha256()).withTrials(3), SPACE, true);
            assertEquals(3, resumed.trials());
            assertEquals(found.sha256(), home.find(store).orElseThrow().dataSha256(), "the fingerprint is recorded now");
            assertEquals(TrialState.COMPLETE, store.trials(old.name()).get(0).state());
        }
    }

    @Test
    void clearRemovesOnlyTheStudysEntriesTrialsAndResults() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("study"));
        Path outside = Files.writeString(tmp.resolve("precious.txt"), "keep");
        Files.createDirectories(dir.resolve("trials/0/checkpoints"));
        Files.writeString(dir.resolve("trials/0/metrics.jsonl"), "{}");
        Files.createSymbolicLink(dir.resolve("trials/0/link"), outside);
        Files.writeString(dir.resolve("trials.csv"), "x");
        Files.writeString(dir.resolve("report.html"), "x");
        Files.writeString(dir.resolve("notes.txt"), "mine");
        StudyHome home = new StudyHome(dir, null);
        try (StudyStore store = home.open()) {
            Path data = Files.writeString(tmp.resolve("input.txt"), "text\n");
            StudyInfo study = Studies.begin(store, newStudy(home, StudyData.of(dir, data)), SPACE, false);
            store.startTrial(study.name(), 0, Map.of("dropout", 0.1));
            store.report(study.name(), 0, 10, 3.0);

            home.clear(store, study);
            assertTrue(home.find(store).isEmpty());
            assertTrue(store.trials(StudyHome.LOCAL_KEY).isEmpty());
            assertFalse(Files.exists(dir.resolve("trials")));
            assertFalse(Files.exists(dir.resolve("trials.csv")) || Files.exists(dir.resolve("report.html")));
            assertEquals("keep", Files.readString(outside), "a link is removed, not followed");
            assertTrue(Files.isRegularFile(dir.resolve("notes.txt")));
            assertTrue(Files.isRegularFile(dir.resolve("study.db")));
            // The directory takes a new study at once.
            Studies.begin(store, newStudy(home, StudyData.of(dir, data)), SPACE, false);
        }
    }

    private static void copy(Path from, Path to) throws Exception {
        try (var walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
