package io.troupe.data.prepare;

import io.troupe.data.ingest.InputSelection;
import java.nio.file.Path;
import java.util.List;

/**
 * What to prepare.
 *
 * @param inputs files and directories to read
 * @param out the dataset directory to write
 * @param force replace a dataset already in {@code out}
 * @param settings every other setting
 * @param selection which files under an input directory are read
 */
public record PrepareRequest(List<Path> inputs, Path out, boolean force, PrepareSettings settings,
        InputSelection selection) {

    /** Copies the input list. */
    public PrepareRequest {
        inputs = List.copyOf(inputs);
    }

    /** A request that leaves out documentation files and nothing else ({@link InputSelection#DEFAULT}). */
    public PrepareRequest(List<Path> inputs, Path out, boolean force, PrepareSettings settings) {
        this(inputs, out, force, settings, InputSelection.DEFAULT);
    }
}
