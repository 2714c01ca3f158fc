package io.troupe.tuner.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Deleting a directory tree without following symbolic links out of it. */
final class Trees {
    private Trees() {
    }

    /** Deletes {@code path} and everything under it; a link is deleted itself, never its target. */
    static void delete(Path path) throws IOException {
        if (Files.isSymbolicLink(path) || Files.isRegularFile(path)) {
            Files.delete(path);
            return;
        }
        if (!Files.exists(path)) {
            return;
        }
        // Files.walk does not follow links below the start: a link inside is deleted as a file.
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
