package io.troupe.ops.cli;

import io.troupe.data.io.FileTrees;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.run.ModelExport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * {@code troupe serve --watch RUN_DIR}: finds the newest model of a training run, the export
 * ({@code RUN_DIR/model.onnx}) or a checkpoint written after it, and hands it to a loader when it
 * differs from the one served. A checkpoint is exported first into a private staging directory
 * (the run directory is never written). A model that fails to load is reported once and skipped
 * until a newer one appears; the one served stays.
 */
final class RunWatcher implements AutoCloseable {

    /** Loads a model directory and starts serving it; throws when the directory is not a good model. */
    @FunctionalInterface
    interface Loader {
        void load(Path dir) throws Exception;
    }

    private final Path run;
    private final Path staging;
    private final Loader loader;
    private final Consumer<String> say;
    /** What was last tried: the served model's source, or the one that failed. */
    private String lastTried;
    private Path lastStaged;
    private int exports;

    RunWatcher(Path run, Loader loader, Consumer<String> say) throws IOException {
        this.run = run;
        this.loader = loader;
        this.say = say;
        this.staging = Files.createTempDirectory("troupe-watch-");
    }

    /**
     * Looks once; when the run has a newer model than the one last tried, loads it.
     *
     * @return true when a new model is now served
     */
    synchronized boolean check() {
        Candidate newest;
        try {
            newest = newest();
        } catch (IOException | CheckpointException e) {
            return false; // a file vanished mid-listing (the run is writing): look again next time
        }
        if (newest == null || newest.key().equals(lastTried)) {
            return false;
        }
        lastTried = newest.key();
        Path dir = run;
        try {
            if (newest.checkpointStep().isPresent()) {
                dir = staging.resolve("export-" + (++exports));
                CheckpointExport.export(run, newest.checkpointStep(), dir, false);
            }
            loader.load(dir);
        } catch (Exception e) {
            say.accept("troupe: warning: --watch " + run + ": cannot serve " + newest.what() + " (" + e.getMessage()
                    + "); still serving the previous model");
            deleteQuietly(dir == run ? null : dir);
            return false;
        }
        say.accept("troupe serve: now serving " + newest.what());
        if (lastStaged != null) {
            // The previous staged export's files are loaded in memory already; the directory can go.
            deleteQuietly(lastStaged);
        }
        lastStaged = dir == run ? null : dir;
        return true;
    }

    /** A model source: its identity, what to call it, and the checkpoint step when it is one. */
    private record Candidate(String key, String what, OptionalLong checkpointStep) {
    }

    private Candidate newest() throws IOException, CheckpointException {
        Path model = run.resolve(ModelExport.FILE_NAME);
        FileTime exported = Files.isRegularFile(model) ? Files.getLastModifiedTime(model) : null;
        Path checkpoints = run.resolve(CheckpointStore.DIRECTORY);
        if (Files.isDirectory(checkpoints)) {
            List<Path> files = new CheckpointStore(run, 1).list(); // newest first
            if (!files.isEmpty()) {
                Path file = files.get(0);
                FileTime saved = Files.getLastModifiedTime(file);
                if (exported == null || saved.compareTo(exported) > 0) {
                    long step = CheckpointStore.step(file);
                    return new Candidate("checkpoint " + file + " " + saved.toMillis(), "checkpoint " + step + " of " + run,
                            OptionalLong.of(step));
                }
            }
        }
        if (exported == null) {
            return null;
        }
        return new Candidate("export " + exported.toMillis() + " " + Files.size(model), model.toString(),
                OptionalLong.empty());
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            FileTrees.deleteRecursively(dir);
        } catch (IOException | RuntimeException ignored) {
            // A staging directory in the temp space: left for the system to clean.
        }
    }

    @Override
    public void close() {
        deleteQuietly(staging);
    }

    @Override
    public String toString() {
        return "RunWatcher[" + Objects.toString(run) + "]";
    }
}
