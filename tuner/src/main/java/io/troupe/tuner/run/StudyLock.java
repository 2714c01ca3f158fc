package io.troupe.tuner.run;

import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.TuneException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a study directory, held while a study runs, so that two {@code troupe
 * tune} processes never run the same study (each would start the other's trials again). The
 * operating system releases it when the process dies, so a crash never leaves a stale lock.
 */
public final class StudyLock implements AutoCloseable {
    /** The lock file in the study directory. */
    public static final String FILE = ".lock";

    private final FileChannel channel;
    private final FileLock lock;

    private StudyLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock, or throws a one-line TuneException if another process holds it. */
    public static StudyLock acquire(Path dir) {
        try {
            Files.createDirectories(dir);
            FileChannel channel = FileChannel.open(dir.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                throw new TuneException(Kind.IO, "the study in " + dir + " is being run by another troupe tune process;"
                        + " wait for it to finish or choose another --out");
            }
            return new StudyLock(channel, lock);
        } catch (IOException e) {
            throw new TuneException(Kind.IO, "cannot lock the study directory " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            // Closing the channel releases the lock whatever happened; nothing is left to undo.
        }
    }
}
