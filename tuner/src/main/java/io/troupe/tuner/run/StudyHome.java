package io.troupe.tuner.run;

import io.troupe.data.io.FileTrees;
import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.TuneException;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where a study lives: its directory and its store, and the study's key in that store.
 *
 * <p>In the directory's own SQLite file the key is {@value #LOCAL_KEY}: the file holds one
 * study, and a key that names no path lets the directory be moved or copied. A shared store
 * ({@code --storage}, e.g. PostgreSQL) holds many studies, keyed by their directory's absolute
 * path. A study written before keys were relative is found under its old absolute key, wherever
 * its directory is now.
 */
public final class StudyHome {
    /** A study's key in its directory's own store. */
    public static final String LOCAL_KEY = ".";

    private final Path dir;
    private final String storage;

    /**
     * @param dir the study directory
     * @param storage the JDBC URL of a shared store, or null for {@code dir/study.db}
     */
    public StudyHome(Path dir, String storage) {
        this.dir = dir.toAbsolutePath().normalize();
        this.storage = storage;
    }

    /** The study directory (absolute). */
    public Path dir() {
        return dir;
    }

    /** Whether the study is kept in the directory's own SQLite file. */
    public boolean localStore() {
        return storage == null;
    }

    /** Opens the study's store (creating the directory and its SQLite file if needed). */
    public StudyStore open() {
        if (!localStore()) {
            return JdbcStudyStore.open(storage, JdbcStudyStore.DEFAULT_BUSY_TIMEOUT);
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new TuneException(Kind.IO, "cannot create the study directory " + dir + ": " + e.getMessage(), e);
        }
        return JdbcStudyStore.sqlite(dir);
    }

    /** The key a new study gets. */
    public String newKey() {
        return localStore() ? LOCAL_KEY : StudyReports.studyName(dir);
    }

    /** The study the store holds for this directory, if any. */
    public Optional<StudyInfo> find(StudyStore store) {
        Optional<StudyInfo> study = store.study(newKey());
        if (study.isPresent() || !localStore()) {
            return study;
        }
        // A directory's own file written before keys were relative: its one study, under the
        // absolute path the directory had then.
        List<String> names = store.studies();
        return names.size() == 1 ? store.study(names.get(0)) : Optional.empty();
    }

    /**
     * Starts the study over ({@code --force}): removes it from the store, and its trial
     * directories and result files from the study directory. Only those named children of the
     * directory are deleted, and a symbolic link among them is removed, not followed.
     */
    public void clear(StudyStore store, StudyInfo study) {
        store.deleteStudy(study.name());
        try {
            FileTrees.deleteRecursively(dir.resolve("trials"));
            for (String file : List.of(io.troupe.tuner.report.ResultsWriter.CSV, io.troupe.tuner.report.ResultsWriter.HTML)) {
                Files.deleteIfExists(dir.resolve(file));
            }
        } catch (IOException e) {
            throw new TuneException(Kind.IO, "cannot remove the old trials from " + dir + ": " + e.getMessage()
                    + "; remove " + dir.resolve("trials") + " by hand", e);
        }
    }
}
