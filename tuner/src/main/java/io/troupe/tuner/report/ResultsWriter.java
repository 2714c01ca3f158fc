package io.troupe.tuner.report;

import io.troupe.data.io.AtomicFiles;
import io.troupe.tuner.space.SearchSpace;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes a study's {@code trials.csv} and {@code report.html}, each atomically (temp file, fsync,
 * rename): a reader, or a crash during a write, never sees half a file.
 */
public final class ResultsWriter {
    /** The CSV of trials in the study directory. */
    public static final String CSV = "trials.csv";
    /** The HTML page of plots in the study directory. */
    public static final String HTML = "report.html";

    private ResultsWriter() {
    }

    /** Writes both files into {@code dir}. */
    public static void write(Path dir, StudyResults results, SearchSpace space) throws IOException {
        AtomicFiles.writeString(dir.resolve(CSV), results.csv());
        AtomicFiles.writeString(dir.resolve(HTML), HtmlReport.render(results, space));
    }
}
