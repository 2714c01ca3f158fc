package io.troupe.data.prepare;

import java.nio.file.Path;
import java.util.List;

/**
 * What to prepare.
 *
 * @param inputs files and directories to read
 * @param out the dataset directory to write
 * @param force replace a dataset already in {@code out}
 * @param settings every other setting
 */
public record PrepareRequest(List<Path> inputs, Path out, boolean force, PrepareSettings settings) {

    /** Copies the input list. */
    public PrepareRequest {
        inputs = List.copyOf(inputs);
    }
}
