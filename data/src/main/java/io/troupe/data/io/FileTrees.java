package io.troupe.data.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Operations on whole directory trees. */
public final class FileTrees {

    private FileTrees() {}

    /**
     * Deletes {@code path} and, if it is a directory, everything below it, children before their
     * parents. Nothing happens when {@code path} does not exist. A symbolic link is deleted
     * itself, never followed: its target and what lies below it are left alone.
     */
    public static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        // Files.walk follows no links (not even a link given as the start): a link is walked as a file.
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
