package io.troupe.data.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Operations on whole directory trees. */
public final class FileTrees {

    private FileTrees() {}

    /**
     * Deletes {@code path} and, if it is a directory, everything below it, children before their
     * parents. Nothing happens when {@code path} does not exist.
     */
    public static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
