package io.troupe.tuner.run;

import io.troupe.data.shard.Manifest;
import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.TuneException;
import io.troupe.data.source.DataSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A study's training data: where it is (stored relative to the study directory, so a study
 * moved together with its data still finds it) and what it is (a SHA-256, so a study moved
 * without it can be pointed at a copy with {@code --data}, and a changed file is refused).
 *
 * @param path the data as this process reads it (absolute)
 * @param stored the path the store records
 * @param sha256 the data's fingerprint
 */
public record StudyData(Path path, String stored, String sha256) {

    /** The data of a new study, or of a resume that re-points it with {@code --data}. */
    public static StudyData of(Path studyDir, Path data) {
        Path absolute = data.toAbsolutePath().normalize();
        if (!Files.exists(absolute)) {
            throw new TuneException(Kind.INPUT_DATA, "--data " + data + " does not exist; pass a text file or a dataset directory"
                    + " from troupe prepare");
        }
        if (Files.isDirectory(absolute) && !Files.isRegularFile(absolute.resolve(Manifest.FILE_NAME))) {
            throw new TuneException(Kind.INPUT_DATA, "--data " + data + " is a directory without " + Manifest.FILE_NAME + "; pass a text"
                    + " file, or a dataset directory made by troupe prepare --out DIR");
        }
        return new StudyData(absolute, relative(studyDir, absolute), sha256(absolute));
    }

    /**
     * The data of a resumed study: {@code --data} if given, else the recorded path (resolved
     * against the study directory). Its fingerprint must be the recorded one, if one is.
     *
     * @throws TuneException if the data is missing (say --data) or is not the study's
     */
    public static StudyData resume(Path studyDir, String storedPath, String storedSha256, Path dataOption) {
        StudyData found;
        if (dataOption != null) {
            found = of(studyDir, dataOption);
        } else {
            Path recorded = studyDir.toAbsolutePath().normalize().resolve(storedPath).normalize();
            if (!Files.exists(recorded)) {
                throw new TuneException(Kind.INPUT_DATA, "the study's data " + recorded + " is not there (was the study moved or"
                        + " copied?); pass --data PATH to point it at the same data");
            }
            found = of(studyDir, recorded);
        }
        if (storedSha256 != null && !storedSha256.equals(found.sha256())) {
            throw new TuneException(Kind.INPUT_DATA, "the data at " + found.path() + " is not the study's: its SHA-256 "
                    + found.sha256().substring(0, 12) + "... differs from the recorded " + storedSha256.substring(0, 12)
                    + "...; pass --data with the data the study started with, or start a new study");
        }
        return found;
    }

    /**
     * The data's content hash, as {@link DataSource#sha256} (and a run's summary) gives it: of a
     * text file's bytes, or of a prepared dataset's manifest (which holds every shard's SHA-256).
     */
    public static String sha256(Path data) {
        try {
            return DataSource.sha256(data);
        } catch (IOException e) {
            throw new TuneException(Kind.INPUT_DATA, "cannot read the data " + data + ": " + e.getMessage(), e);
        }
    }

    /** The path from the study directory to the data; absolute if there is none (another drive). */
    private static String relative(Path studyDir, Path data) {
        try {
            return studyDir.toAbsolutePath().normalize().relativize(data).toString();
        } catch (IllegalArgumentException otherRoot) {
            return data.toString();
        }
    }
}
