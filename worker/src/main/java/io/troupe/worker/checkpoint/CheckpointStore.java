package io.troupe.worker.checkpoint;

import io.troupe.data.io.AtomicFiles;
import io.troupe.errors.TroupeException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checkpoints of one run: {@code RUN/checkpoints/ckpt-<step>.bin}, written atomically,
 * verified on load, the last few kept.
 *
 * <p>Writing follows {@link AtomicFiles}: a temporary file in the same directory, forced to
 * disk, renamed over the final name with an atomic move, then the directory forced. A crash at
 * any point leaves either no new checkpoint or a complete one, plus at most a temporary file
 * whose name never matches {@code ckpt-<step>.bin}; the next {@link #save} deletes it. Older
 * checkpoints are deleted only once the new one is durable.
 *
 * <p>Checkpoints with a higher step than the one being saved belong to a run that was rolled
 * back to an earlier checkpoint; they are deleted with the others, so that {@link #latest}
 * never resumes the abandoned branch.
 *
 * <p>Checkpoints are signed and verified with the process's key ({@link CheckpointSigning}) unless
 * a store is given its own.
 *
 * <p>One writer per run directory.
 */
public final class CheckpointStore {

    /** Name of the checkpoints directory inside a run directory. */
    public static final String DIRECTORY = "checkpoints";

    private static final String PREFIX = "ckpt-";
    private static final Pattern NAME = Pattern.compile("ckpt-(\\d+)\\.bin");
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

    private final Path directory;
    private final int keepLast;
    private final Supplier<Optional<CheckpointKey>> key; // the process's key is read at each use

    /**
     * @param runDirectory the run directory; checkpoints go to its {@value #DIRECTORY} subdirectory
     * @param keepLast how many of the newest checkpoints to keep, at least 1
     * @throws IllegalArgumentException if {@code keepLast} is below 1
     */
    public CheckpointStore(Path runDirectory, int keepLast) {
        this(runDirectory, keepLast, CheckpointSigning::key);
    }

    /**
     * A store that signs and verifies with {@code key} (empty: unsigned) rather than the
     * process's key.
     *
     * @throws IllegalArgumentException if {@code keepLast} is below 1
     */
    public CheckpointStore(Path runDirectory, int keepLast, Optional<CheckpointKey> key) {
        this(runDirectory, keepLast, () -> key);
    }

    private CheckpointStore(Path runDirectory, int keepLast, Supplier<Optional<CheckpointKey>> key) {
        this.key = key;
        if (keepLast < 1) {
            throw new IllegalArgumentException("keep_last must be at least 1, got " + keepLast);
        }
        this.directory = runDirectory.resolve(DIRECTORY);
        this.keepLast = keepLast;
    }

    /** The directory holding the checkpoint files. */
    public Path directory() {
        return directory;
    }

    /** How many checkpoints {@link #save} keeps. */
    public int keepLast() {
        return keepLast;
    }

    /** Where the checkpoint of {@code trainingStep} is stored. */
    public Path pathOf(long trainingStep) {
        return directory.resolve(PREFIX + trainingStep + ".bin");
    }

    /**
     * Durably writes {@code checkpoint} as {@code ckpt-<trainingStep>.bin}, replacing a file of
     * the same step, then deletes all but the newest {@link #keepLast()} checkpoints.
     *
     * @return the file written
     * @throws CheckpointException if the checkpoint cannot be written; existing checkpoints are
     *     left as they were
     */
    public Path save(Checkpoint checkpoint) throws CheckpointException {
        Path file = pathOf(checkpoint.trainingStep());
        try {
            Files.createDirectories(directory);
            deleteTempFiles();
            AtomicFiles.write(file, channel -> CheckpointFile.write(checkpoint, channel, key()));
        } catch (IOException e) {
            throw new CheckpointException(Kind.IO, "cannot write checkpoint " + file + ": " + e
                    + "; check free disk space and permissions of " + directory, e);
        }
        prune(checkpoint.trainingStep());
        return file;
    }

    /**
     * The checkpoint files in the directory, newest (highest step) first. Temporary files of
     * unfinished writes and other files are not listed.
     *
     * @throws CheckpointException if the directory cannot be listed
     */
    public List<Path> list() throws CheckpointException {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(file -> step(file) >= 0)
                    .sorted(Comparator.comparingLong(CheckpointStore::step).reversed())
                    .toList();
        } catch (IOException e) {
            throw new CheckpointException(Kind.IO, "cannot list checkpoints in " + directory + ": " + e
                    + "; check the directory's permissions", e);
        }
    }

    /**
     * Loads the newest checkpoint that verifies, skipping (with a warning) newer ones that are
     * truncated or corrupt, and checks that it was written with {@code expectedConfig}.
     *
     * @return the checkpoint, or empty if the run has none yet
     * @throws CheckpointException if the newest readable checkpoint has a different config, or
     *     checkpoints exist but none is readable
     */
    public Optional<Checkpoint> latest(String expectedConfig) throws CheckpointException {
        List<Path> files = list();
        CheckpointException newestProblem = null;
        for (Path file : files) {
            Checkpoint checkpoint;
            try {
                checkpoint = load(file, key());
            } catch (CheckpointException e) {
                LOG.warn("{}; trying an older one", e.getMessage());
                newestProblem = newestProblem == null ? e : newestProblem;
                continue;
            }
            requireConfig(file, checkpoint, expectedConfig);
            return Optional.of(checkpoint);
        }
        if (newestProblem != null) {
            throw new CheckpointException("none of the " + files.size() + " checkpoints in "
                    + directory + " is usable, the newest because: " + newestProblem.getMessage(),
                    newestProblem);
        }
        return Optional.empty();
    }

    /**
     * Loads and verifies one checkpoint file.
     *
     * @throws CheckpointException if it is missing, unreadable, truncated or corrupt, of another
     *     format version, or holds a step other than its name says
     */
    public static Checkpoint load(Path file) throws CheckpointException {
        return load(file, CheckpointSigning.key());
    }

    /**
     * Loads and verifies one checkpoint file with {@code key} (given: it must be signed with it)
     * rather than the process's key.
     *
     * @throws CheckpointException as {@link #load(Path)}
     */
    public static Checkpoint load(Path file, Optional<CheckpointKey> key) throws CheckpointException {
        Checkpoint checkpoint = CheckpointFile.read(file, key);
        long named = step(file);
        if (named >= 0 && named != checkpoint.trainingStep()) {
            throw new CheckpointException("checkpoint " + file + " holds step "
                    + checkpoint.trainingStep() + " but is named for step " + named + "; rename it "
                    + PREFIX + checkpoint.trainingStep() + ".bin");
        }
        return checkpoint;
    }

    /**
     * Loads and verifies one checkpoint file and checks that it was written with
     * {@code expectedConfig}.
     *
     * @throws CheckpointException as {@link #load(Path)}, or if the configs differ
     */
    public static Checkpoint load(Path file, String expectedConfig) throws CheckpointException {
        Checkpoint checkpoint = load(file);
        requireConfig(file, checkpoint, expectedConfig);
        return checkpoint;
    }

    private static void requireConfig(Path file, Checkpoint checkpoint, String expectedConfig)
            throws CheckpointException {
        List<String> differences = ConfigDiff.differences(checkpoint.config(), expectedConfig);
        if (differences.isEmpty()) {
            return;
        }
        throw new CheckpointException("checkpoint " + file + " was written with a different config"
                + " (" + ConfigDiff.summary(differences) + "); resume with the checkpoint's config or start a new run"
                + " directory");
    }

    private Optional<CheckpointKey> key() {
        return key.get();
    }

    // Deletes checkpoints above `saved` (an abandoned branch) and all but the newest keepLast.
    private void prune(long saved) {
        List<Path> files;
        try {
            files = list();
        } catch (CheckpointException e) {
            LOG.warn("{}; old checkpoints were kept", e.getMessage());
            return;
        }
        int kept = 0;
        for (Path file : files) {
            if (step(file) <= saved && kept < keepLast) {
                kept++;
                continue;
            }
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("cannot delete old checkpoint {}: {}; delete it by hand to free the space", file, e.toString());
            }
        }
    }

    private void deleteTempFiles() throws IOException {
        List<Path> temps = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory)) {
            files.filter(file -> AtomicFiles.isTempFileOf(file, PREFIX)).forEach(temps::add);
        }
        for (Path temp : temps) {
            Files.deleteIfExists(temp);
        }
    }

    /** The step in a checkpoint's file name ({@code ckpt-N.bin}), or -1 if the name is not a checkpoint's. */
    public static long step(Path file) {
        Matcher matcher = NAME.matcher(file.getFileName().toString());
        if (!matcher.matches()) {
            return -1;
        }
        try {
            return Long.parseLong(matcher.group(1));
        } catch (NumberFormatException e) {
            return -1; // more digits than a long holds: not a name this store writes
        }
    }
}
