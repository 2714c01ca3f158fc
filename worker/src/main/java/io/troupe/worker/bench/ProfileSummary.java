package io.troupe.worker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Time per op type in an ORT profile (the JSON trace ORT's profiler writes), per model run. */
public record ProfileSummary(int runs, List<OpTime> ops) {

    /** Total kernel time of one op type per run, and how many nodes of it a run executes. */
    public record OpTime(String opType, double millisPerRun, int nodesPerRun) {
    }

    /** Reads and aggregates an ORT profile file. */
    public static ProfileSummary read(Path file) throws IOException {
        JsonNode events = new ObjectMapper().readTree(file.toFile());
        Map<String, Double> micros = new HashMap<>();
        Map<String, Integer> counts = new HashMap<>();
        int runs = 0;
        for (JsonNode e : events) {
            String name = e.path("name").asText();
            if ("model_run".equals(name)) {
                runs++;
            } else if ("Node".equals(e.path("cat").asText()) && name.endsWith("_kernel_time")) {
                String op = e.path("args").path("op_name").asText();
                micros.merge(op, e.path("dur").asDouble(), Double::sum);
                counts.merge(op, 1, Integer::sum);
            }
        }
        int n = Math.max(runs, 1);
        List<OpTime> ops = new ArrayList<>();
        for (Map.Entry<String, Double> m : micros.entrySet()) {
            ops.add(new OpTime(m.getKey(), m.getValue() / 1000 / n, counts.get(m.getKey()) / n));
        }
        ops.sort((a, b) -> Double.compare(b.millisPerRun(), a.millisPerRun()));
        return new ProfileSummary(runs, ops);
    }

    /** The top {@code limit} op types as a small table. */
    public String render(int limit) {
        double total = ops.stream().mapToDouble(OpTime::millisPerRun).sum();
        StringBuilder sb = new StringBuilder(String.format("kernel time %.2f ms per run over %d runs%n", total, runs));
        for (OpTime op : ops.subList(0, Math.min(limit, ops.size()))) {
            sb.append(String.format("  %-22s %7.2f ms  %5.1f%%  %4d nodes%n", op.opType(), op.millisPerRun(),
                    100 * op.millisPerRun() / total, op.nodesPerRun()));
        }
        return sb.toString();
    }
}
