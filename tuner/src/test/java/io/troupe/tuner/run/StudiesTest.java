package io.troupe.tuner.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.TuneException;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starting and resuming a study: what a resume may and may not change, and the directory lock. */
class StudiesTest {
    private static final SearchSpace SPACE = SearchSpace.parse("params { dropout { type = float, min = 0, max = 0.2 } }");

    @TempDir
    Path dir;

    private StudyInfo info(String sampler, int trials, SearchSpace space) {
        return new StudyInfo(dir.toString(), space.canonical(), "/data", sampler, "none", 1, trials, 1, 100, 0);
    }

    @Test
    void aResumeMayChangeTheTrialCountButNotTheSpaceOrTheSampler() {
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            Studies.begin(store, info("tpe", 4, SPACE), SPACE, false);
            TuneException twice = assertThrows(TuneException.class, () -> Studies.begin(store, info("tpe", 4, SPACE), SPACE, false));
            assertTrue(twice.getMessage().contains("already holds a study") && twice.getMessage().contains("pass --resume"), twice.getMessage());

            assertEquals(6, Studies.begin(store, info("tpe", 6, SPACE), SPACE, true).trials());
            assertEquals(6, store.study(dir.toString()).orElseThrow().trials());

            SearchSpace changed = SearchSpace.parse("params { dropout { type = float, min = 0, max = 0.3 } }");
            TuneException diff = assertThrows(TuneException.class,
                    () -> Studies.begin(store, info("tpe", 6, changed), changed, true));
            assertTrue(diff.getMessage().contains("the search space changed since the study started")
                    && diff.getMessage().contains("params.dropout.max: 0.2 -> 0.3"), diff.getMessage());
            TuneException sampler = assertThrows(TuneException.class,
                    () -> Studies.begin(store, info("random", 6, SPACE), SPACE, true));
            assertTrue(sampler.getMessage().contains("--sampler is random but the study started with tpe"), sampler.getMessage());
        }
    }

    @Test
    void resumingNothingIsRefused() {
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            TuneException e = assertThrows(TuneException.class, () -> Studies.begin(store, info("tpe", 4, SPACE), SPACE, true));
            assertTrue(e.getMessage().startsWith("nothing to resume"), e.getMessage());
        }
    }

    @Test
    @SuppressWarnings("try") // the lock is held by the try block, never read
    void aStudyDirectoryIsRunByOneProcessAtATime() {
        try (StudyLock lock = StudyLock.acquire(dir)) {
            TuneException e = assertThrows(TuneException.class, () -> StudyLock.acquire(dir));
            assertTrue(e.getMessage().contains("is being run by another troupe tune process"), e.getMessage());
        }
        StudyLock.acquire(dir).close();
    }
}
