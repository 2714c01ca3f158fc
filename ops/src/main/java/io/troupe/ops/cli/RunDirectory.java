package io.troupe.ops.cli;

import io.troupe.data.io.FileTrees;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.metrics.TensorBoardEvents;
import io.troupe.worker.run.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Guards a training output directory: a directory that holds another run is only reused
 * with {@code --resume} (continue it) or {@code --force} (replace it).
 */
final class RunDirectory {
    /** The coordinator's event log of a distributed run (io.troupe.coordinator.JobEventLog). */
    private static final String EVENTS = "events.jsonl";
    private static final List<String> RUN_FILES = List.of(Trainer.METRICS, Trainer.SUMMARY, "checkpoints");

    private RunDirectory() {
    }

    /** Prepares {@code dir} for a run, or throws a UserError saying what to pass. */
    static void prepare(Path dir, boolean resume, boolean force) {
        if (resume && force) {
            throw UserError.usage("--resume and --force contradict each other; pass one of them");
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw UserError.inputData("--out " + dir + " is a file, not a directory; choose another path");
        }
        boolean holdsRun = RUN_FILES.stream().anyMatch(f -> Files.exists(dir.resolve(f)));
        if (resume) {
            if (!hasCheckpoint(dir)) {
                // Resuming without one would start from scratch and log steps 0.. a second time.
                throw UserError.inputData("nothing to resume: " + dir + " has no checkpoints; "
                        + (holdsRun ? "pass --force instead of --resume to start over" : "drop --resume to start a new run"));
            }
            return;
        }
        if (holdsRun && !force) {
            throw UserError.inputData(dir + " already holds a training run; pass --resume to continue it or --force to replace it");
        }
        try {
            if (holdsRun) {
                FileTrees.deleteRecursively(dir.resolve("checkpoints"));
                FileTrees.deleteRecursively(dir.resolve(TensorBoardEvents.DIRECTORY));
                Files.deleteIfExists(dir.resolve(EVENTS)); // the coordinator's history of the run replaced
                Files.deleteIfExists(dir.resolve(Trainer.METRICS));
                Files.deleteIfExists(dir.resolve(Trainer.SUMMARY));
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw UserError.io("cannot prepare output directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private static boolean hasCheckpoint(Path dir) {
        return !new CheckpointStore(dir, 1).list().isEmpty();
    }
}
