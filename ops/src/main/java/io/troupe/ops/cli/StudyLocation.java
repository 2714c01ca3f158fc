package io.troupe.ops.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The study a {@code troupe study ...} command reads: its directory and, if not the default, its store. */
final class StudyLocation {

    @Parameters(index = "0", paramLabel = "DIR", description = "The study directory (troupe tune --out).")
    private Path dir;

    @Option(names = "--storage", paramLabel = "JDBC_URL", description = "The study's store, if it was not DIR/study.db.")
    private String storage;

    Path dir() {
        return dir;
    }

    /** The JDBC URL given with --storage, or null for DIR/study.db. */
    String storage() {
        return storage;
    }
}
