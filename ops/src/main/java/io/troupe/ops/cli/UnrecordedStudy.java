package io.troupe.ops.cli;

import io.troupe.tuner.run.StudyLock;
import io.troupe.tuner.store.JdbcStudyStore;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a {@code tune} command may create in its study directory before it records a study: the
 * SQLite store it opens to look for one (with its journal files), the lock file, and the directory
 * itself. If the command is refused (or fails) before it records a study, {@link #removeCreated}
 * takes away the ones that were not there before it started. Without this a refused command left an
 * empty {@code study.db} behind, and the directory looked like a study.
 */
final class UnrecordedStudy {
    private static final List<String> FILES = List.of(JdbcStudyStore.SQLITE_FILE, JdbcStudyStore.SQLITE_FILE + "-wal",
            JdbcStudyStore.SQLITE_FILE + "-shm", JdbcStudyStore.SQLITE_FILE + "-journal", StudyLock.FILE);

    private final Path dir;
    private final boolean dirExisted;
    private final List<String> existed;

    private UnrecordedStudy(Path dir, boolean dirExisted, List<String> existed) {
        this.dir = dir;
        this.dirExisted = dirExisted;
        this.existed = existed;
    }

    /** Notes which of the files a study creates are in {@code dir} already. */
    static UnrecordedStudy before(Path dir) {
        return new UnrecordedStudy(dir, Files.exists(dir), FILES.stream().filter(f -> Files.exists(dir.resolve(f))).toList());
    }

    /**
     * Deletes the files the command created, and the directory if it created that and nothing else
     * is in it now. Call it only once the command's lock is released, and only if the command held it
     * (another process's lock and store are not this command's to remove).
     */
    void removeCreated() {
        try {
            for (String file : FILES) {
                if (!existed.contains(file)) {
                    Files.deleteIfExists(dir.resolve(file));
                }
            }
            if (!dirExisted) {
                try (Stream<Path> left = Files.list(dir)) {
                    if (left.findAny().isEmpty()) {
                        Files.deleteIfExists(dir);
                    }
                }
            }
        } catch (DirectoryNotEmptyException e) {
            // Something was written there meanwhile: it stays.
        } catch (IOException e) {
            // Best effort: the command's own error is what the user needs to see.
        }
    }
}
