package io.troupe.data.prepare;

import io.troupe.data.audit.AuditOptions;
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
 * @param audit the data audit and augmentation options
 */
public record PrepareRequest(List<Path> inputs, Path out, boolean force, PrepareSettings settings,
        InputSelection selection, AuditOptions audit) {

    /** Copies the input list. */
    public PrepareRequest {
        inputs = List.copyOf(inputs);
    }

    /** A request with the default audit (summary in the manifest only) and no augmentation. */
    public PrepareRequest(List<Path> inputs, Path out, boolean force, PrepareSettings settings,
            InputSelection selection) {
        this(inputs, out, force, settings, selection, AuditOptions.defaults());
    }

    /** A request that leaves out documentation files and nothing else ({@link InputSelection#DEFAULT}). */
    public PrepareRequest(List<Path> inputs, Path out, boolean force, PrepareSettings settings) {
        this(inputs, out, force, settings, InputSelection.DEFAULT);
    }
}
