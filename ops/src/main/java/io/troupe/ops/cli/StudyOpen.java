package io.troupe.ops.cli;

import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.run.StudyHome;
import io.troupe.tuner.run.StudyReports;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import java.nio.file.Path;

/** Opens a finished (or running) study's store for the {@code study} commands, with their shared checks. */
final class StudyOpen {
    private StudyOpen() {
    }

    /** The study's results read from DIR's store (or {@code storage}); a user error if there is none. */
    static StudyResults results(Path dir, String storage) {
        Path study = dir.toAbsolutePath().normalize();
        if (storage == null && !JdbcStudyStore.hasSqliteStore(study)) {
            throw UserError.inputData("no study in " + dir + ": it has no " + JdbcStudyStore.SQLITE_FILE
                    + " (if the study used --storage, pass the same --storage)");
        }
        StudyHome home = new StudyHome(study, storage);
        try (StudyStore store = home.open()) {
            StudyInfo info = StudyReports.study(store, home);
            return StudyReports.results(store, info, study);
        }
    }
}
