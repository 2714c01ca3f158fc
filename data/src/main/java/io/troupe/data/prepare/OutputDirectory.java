package io.troupe.data.prepare;

import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.io.FileTrees;
import io.troupe.data.shard.Manifest;
import io.troupe.data.shard.Split;
import io.troupe.data.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Guards the output directory of a prepare. It refuses a directory with files prepare did not
 * write (it never deletes what is not its own), refuses a complete dataset unless forced, and
 * removes the manifest of a dataset it replaces before anything else, so from the first byte
 * written until the new manifest lands the directory never looks complete. Leftovers of an
 * interrupted prepare (shards without a manifest) are cleared without asking: they are not a
 * dataset.
 */
final class OutputDirectory {

    static final String STAGING = ".staging";
    private static final Set<String> OURS = Set.of(Manifest.FILE_NAME, Tokenizer.FILE_NAME,
            Split.TRAIN.id(), Split.VAL.id(), STAGING);

    private final Path dir;
    private final boolean created;

    private OutputDirectory(Path dir, boolean created) {
        this.dir = dir;
        this.created = created;
    }

    /**
     * Makes {@code dir} ready for a new dataset.
     *
     * @throws DataException if it is a file, holds foreign files, or holds a dataset and
     *     {@code force} is false
     */
    static OutputDirectory claim(Path dir, boolean force) throws DataException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new DataException("--out " + dir + " is a file, not a directory; choose another path");
        }
        boolean existed = Files.isDirectory(dir);
        try {
            if (existed) {
                List<String> foreign = list(dir).stream().filter(n -> !isOurs(n)).sorted().toList();
                if (!foreign.isEmpty()) {
                    throw new DataException("--out " + dir + " holds files troupe prepare did not write (e.g. "
                            + foreign.get(0) + "); choose an empty or new directory");
                }
                if (Files.exists(dir.resolve(Manifest.FILE_NAME))) {
                    if (!force) {
                        throw new DataException("--out " + dir + " already holds a prepared dataset; pass"
                                + " --force to replace it, or choose another directory");
                    }
                    // The manifest goes first and durably: a crash from here on leaves no dataset.
                    Files.delete(dir.resolve(Manifest.FILE_NAME));
                    AtomicFiles.fsyncDirectory(dir);
                }
                for (String name : list(dir)) {
                    FileTrees.deleteRecursively(dir.resolve(name));
                }
            }
            Files.createDirectories(dir.resolve(STAGING));
        } catch (IOException e) {
            throw DataException.io("cannot prepare output directory " + dir + ": " + e.getMessage()
                    + "; check that it is writable", e);
        }
        return new OutputDirectory(dir, !existed);
    }

    Path dir() {
        return dir;
    }

    Path staging() {
        return dir.resolve(STAGING);
    }

    /** Removes the staging directory after a successful run. */
    void removeStaging() throws IOException {
        FileTrees.deleteRecursively(staging());
    }

    /** Removes everything this run wrote (after a failure); never throws. */
    void discard() {
        try {
            for (String name : list(dir)) {
                if (isOurs(name)) {
                    FileTrees.deleteRecursively(dir.resolve(name));
                }
            }
            if (created && list(dir).isEmpty()) {
                Files.deleteIfExists(dir);
            }
        } catch (IOException ignored) {
            // Best effort: there is no manifest, so whatever is left does not look like a dataset.
        }
    }

    private static boolean isOurs(String name) {
        return OURS.contains(name) || (name.startsWith(".") && name.endsWith(AtomicFiles.TEMP_SUFFIX));
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).toList();
        }
    }
}
