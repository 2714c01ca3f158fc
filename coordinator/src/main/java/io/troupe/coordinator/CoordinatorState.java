package io.troupe.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a coordinator needs, beyond the training checkpoint, to continue a job after it
 * crashed: the fault counters so far. Written atomically to {@code coordinator.json} in the run
 * directory whenever a training checkpoint is written. The sample cursor is not stored: every
 * step consumes exactly one global batch, so it is {@code step * batch_size}.
 */
record CoordinatorState(String jobId, long step, long samplesDuplicated, long membershipChanges,
                        List<Double> recoverySeconds, long stepsSkipped) {
    static final String FILE = "coordinator.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    void write(Path outDir) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("job_id", jobId).put("step", step).put("samples_duplicated", samplesDuplicated)
                .put("membership_changes", membershipChanges).put("steps_skipped", stepsSkipped);
        ArrayNode recoveries = o.putArray("recovery_seconds");
        recoverySeconds.forEach(recoveries::add);
        AtomicFiles.writeString(outDir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
    }

    /** The state in {@code outDir}, or null when there is none. */
    static CoordinatorState read(Path outDir) throws IOException {
        Path file = outDir.resolve(FILE);
        if (!Files.exists(file)) {
            return null;
        }
        try {
            JsonNode o = JSON.readTree(file.toFile());
            List<Double> recoveries = new ArrayList<>();
            o.path("recovery_seconds").forEach(n -> recoveries.add(n.asDouble()));
            return new CoordinatorState(o.path("job_id").asText(), o.path("step").asLong(),
                    o.path("samples_duplicated").asLong(), o.path("membership_changes").asLong(), recoveries,
                    o.path("steps_skipped").asLong());
        } catch (IOException e) {
            throw new IOException(file + " is not a coordinator state file (" + e.getMessage()
                    + "); delete it to resume from the checkpoint alone", e);
        }
    }
}
