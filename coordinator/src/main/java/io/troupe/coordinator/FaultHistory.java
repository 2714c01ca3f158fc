package io.troupe.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A job's fault history over all its coordinators: how many workers joined, left, failed, and how
 * often the coordinator itself was restarted ({@code --resume}), counted from the job's
 * {@code events.jsonl}. That file is only appended to and a resumed coordinator continues it, so
 * the counts survive a coordinator crash; {@code summary.json} reports them as
 * {@code fault_history}.
 *
 * @param joins workers admitted to the job ({@code join} events)
 * @param leaves workers that asked to leave ({@code leave})
 * @param failures lost nodes and failed or late steps ({@code failure})
 * @param coordinatorRestarts coordinators that resumed the job ({@code job_start} with {@code resumed})
 */
record FaultHistory(long joins, long leaves, long failures, long coordinatorRestarts) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Counts the events of {@code dir/events.jsonl}; a missing file is an empty history, and a
     * line that does not parse (one torn by a crash mid-write) is skipped.
     *
     * @throws IOException if the file exists but cannot be read
     */
    static FaultHistory read(Path dir) throws IOException {
        long joins = 0;
        long leaves = 0;
        long failures = 0;
        long restarts = 0;
        try (BufferedReader lines = Files.newBufferedReader(dir.resolve(JobEventLog.FILE), StandardCharsets.UTF_8)) {
            for (String line; (line = lines.readLine()) != null; ) {
                JsonNode event;
                try {
                    event = JSON.readTree(line);
                } catch (IOException torn) {
                    continue;
                }
                if (event == null || !event.hasNonNull("event")) {
                    continue;
                }
                switch (event.get("event").asText()) {
                    case "join" -> joins++;
                    case "leave" -> leaves++;
                    case "failure" -> failures++;
                    case "job_start" -> restarts += event.path("resumed").asBoolean(false) ? 1 : 0;
                    default -> { }
                }
            }
        } catch (NoSuchFileException e) {
            return new FaultHistory(0, 0, 0, 0);
        }
        return new FaultHistory(joins, leaves, failures, restarts);
    }

    /** The history as summary.json's {@code fault_history} object. */
    Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("joins", joins);
        json.put("leaves", leaves);
        json.put("failures", failures);
        json.put("coordinator_restarts", coordinatorRestarts);
        return json;
    }
}
