package io.troupe.ops.cli;

import io.troupe.coordinator.JobFile;
import io.troupe.coordinator.JobSpec;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether a run directory's job ({@code job.json}) is the job a command line defines: the same
 * data (path and content), settings and wire format. Worker counts may differ, as they may on
 * any resume. Used by {@code troupe coordinator --resume-if-exists}, which a supervisor restarts
 * with the same command line.
 */
final class SameJob {
    private SameJob() {}

    /** Null if {@code stored} is the job {@code wanted} defines; else what differs, in one line. */
    static String difference(JobFile stored, JobSpec wanted) {
        List<String> differences = new ArrayList<>();
        if (!stored.dataPath().toAbsolutePath().normalize().equals(wanted.dataPath().toAbsolutePath().normalize())) {
            differences.add("data " + stored.dataPath() + " there, " + wanted.dataPath() + " here");
        } else if (!stored.dataSha256().equals(wanted.dataSha256())) {
            differences.add("the data at " + wanted.dataPath() + " changed since the job started");
        }
        if (stored.wire() != wanted.wire()) {
            differences.add("wire " + stored.wire() + " there, " + wanted.wire() + " here");
        }
        for (RecordComponent c : stored.settings().getClass().getRecordComponents()) {
            Object there = value(c, stored.settings());
            Object here = value(c, wanted.settings());
            if (!there.equals(here)) {
                differences.add(c.getName() + " " + there + " there, " + here + " here");
            }
        }
        return differences.isEmpty() ? null : String.join("; ", differences);
    }

    /**
     * True if the job in {@code runDir} has finished: it holds {@code model.onnx} and a checkpoint
     * of its last step.
     */
    static boolean finished(Path runDir, long lastStep) {
        if (!Files.isRegularFile(runDir.resolve("model.onnx"))) {
            return false;
        }
        try {
            List<Path> newestFirst = new CheckpointStore(runDir, 1).list();
            return !newestFirst.isEmpty() && CheckpointStore.step(newestFirst.get(0)) >= lastStep;
        } catch (CheckpointException e) {
            throw UserError.inputData(e.getMessage());
        }
    }

    private static Object value(RecordComponent component, Object record) {
        try {
            return component.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read setting " + component.getName(), e);
        }
    }
}
