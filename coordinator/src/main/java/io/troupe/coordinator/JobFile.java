package io.troupe.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.io.AtomicFiles;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.train.TrainSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The job's definition in its run directory ({@code job.json}), written when the job starts,
 * so that {@code troupe coordinator --resume DIR} can run the same job again after a crash:
 * the same settings, data and membership bounds, whatever workers come.
 */
public record JobFile(String jobId, TrainSettings settings, Path dataPath, String dataSha256, int workers,
                      int minWorkers, int maxWorkers, WireFormat wire) {
    /** The file name in the run directory. */
    public static final String NAME = "job.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The definition of {@code spec}. */
    public static JobFile of(JobSpec spec) {
        return new JobFile(spec.jobId(), spec.settings(), spec.dataPath(), spec.dataSha256(), spec.workers(),
                spec.elastic().minWorkers(), spec.elastic().maxWorkers(), spec.wire());
    }

    /** Writes {@code job.json} into {@code dir}, atomically. */
    public void write(Path dir) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("job_id", jobId).put("data", dataPath.toString()).put("data_sha256", dataSha256).put("workers", workers)
                .put("min_workers", minWorkers).put("max_workers", maxWorkers)
                .put("wire", wire.name().toLowerCase(Locale.ROOT));
        o.set("settings", JSON.readTree(JobSettings.toJson(settings)));
        AtomicFiles.writeString(dir.resolve(NAME), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
    }

    /**
     * Reads {@code job.json} from a run directory.
     *
     * @throws IOException with a one-line message when it is missing or malformed
     */
    public static JobFile read(Path dir) throws IOException {
        Path file = dir.resolve(NAME);
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + " holds no distributed job to resume (no " + NAME + "); pass the run directory "
                    + "a 'troupe coordinator --out DIR' wrote");
        }
        try {
            JsonNode o = JSON.readTree(file.toFile());
            return new JobFile(text(o, "job_id"), JobSettings.parse(o.get("settings").toString()),
                    Path.of(text(o, "data")), text(o, "data_sha256"), o.path("workers").asInt(1),
                    o.path("min_workers").asInt(1), o.path("max_workers").asInt(1), WireFormat.parse(text(o, "wire")));
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + " is damaged (" + e.getMessage() + "); it cannot be resumed", e);
        }
    }

    private static String text(JsonNode o, String key) throws IOException {
        JsonNode n = o.get(key);
        if (n == null || !n.isTextual()) {
            throw new IOException("\"" + key + "\" is missing");
        }
        return n.asText();
    }
}
