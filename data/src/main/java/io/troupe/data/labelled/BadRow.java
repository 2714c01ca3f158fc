package io.troupe.data.labelled;

import java.nio.file.Path;

/**
 * A row of a label file that could not be used, and why.
 *
 * @param file the file it is in
 * @param line its 1-based line number
 * @param reason what is wrong with it, e.g. "no TAB between text and label"
 */
public record BadRow(Path file, long line, String reason) {

    /** {@code file:line: reason}. */
    @Override
    public String toString() {
        return file + ":" + line + ": " + reason;
    }
}
