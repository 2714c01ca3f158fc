package io.troupe.ops.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.worker.run.TrainListener;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the dashboard shows, kept as a {@link TrainListener} of the run: step points (loss,
 * tokens/s, MFU), evaluations, checkpoints, and the ring's workers, which it reads from the
 * coordinator's {@code DIR/events.jsonl} (joins, leaves, failures of a worker or of ring ranks, rings, and a distributed
 * run's checkpoints) as that file grows; a local run has no such file and shows one worker.
 * Memory stays flat: each series holds at most {@link #MAX_POINTS} points and halves its
 * resolution when full; at most {@link #MAX_CHECKPOINTS} checkpoints and {@link #MAX_WORKERS} workers.
 */
public final class DashboardState implements TrainListener {
    /** Points kept per series. */
    public static final int MAX_POINTS = 2000;
    static final int MAX_CHECKPOINTS = 100;
    static final int MAX_WORKERS = 1000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path eventsFile;
    private final Clock clock;
    private final Downsampled steps = new Downsampled(MAX_POINTS);
    private final Downsampled evals = new Downsampled(MAX_POINTS);
    private final ArrayDeque<ObjectNode> checkpoints = new ArrayDeque<>();
    private final Map<String, ObjectNode> workers = new LinkedHashMap<>();
    private long eventsRead;
    private long step;
    private long lastStep;
    private double lastStepMillis;
    private int ring;
    private int failures;

    /**
     * @param eventsFile the coordinator's events.jsonl to follow for workers (absent for a local run)
     */
    public DashboardState(Path eventsFile, Clock clock) {
        this.eventsFile = eventsFile;
        this.clock = clock;
    }

    @Override
    public synchronized void onStart(long firstStep, long lastStep, long parameters) {
        this.step = firstStep;
        this.lastStep = lastStep;
    }

    @Override
    public synchronized void onStep(StepStats s) {
        step = s.step();
        lastStep = s.lastStep();
        lastStepMillis = s.stepMillis();
        steps.add(s.step(), new double[] {s.step(), s.loss(), s.tokensPerSecond(), s.mfu()});
    }

    @Override
    public synchronized void onEval(long step, double trainLoss, double valLoss) {
        evals.add(step, new double[] {step, trainLoss, valLoss});
    }

    @Override
    public synchronized void onCheckpoint(long step, Path file, double seconds) {
        checkpoint(step, file.toString(), seconds, clock.instant().toString());
    }

    /** A checkpoint; {@code seconds} is NaN when unknown (the coordinator's log does not time them). */
    private void checkpoint(long step, String file, double seconds, String time) {
        if (checkpoints.size() == MAX_CHECKPOINTS) {
            checkpoints.removeFirst();
        }
        ObjectNode c = JSON.createObjectNode().put("step", step).put("file", file).put("time", time);
        if (Double.isFinite(seconds)) {
            c.put("seconds", seconds);
        }
        checkpoints.addLast(c);
    }

    @Override
    public synchronized void onRingFormed(int workers) {
        ring = workers;
    }

    @Override
    public synchronized void onWorkerFailure() {
        failures++;
    }

    /** The state as one JSON object, the payload of each {@code /events} message. */
    public synchronized String json() {
        readNewEvents();
        ObjectNode root = JSON.createObjectNode();
        root.put("time", clock.instant().toString()).put("step", step).put("lastStep", lastStep)
                .put("ring", ring).put("failures", failures);
        steps.writeTo(root.putArray("steps"));
        evals.writeTo(root.putArray("evals"));
        root.putArray("checkpoints").addAll(checkpoints);
        ArrayNode table = root.putArray("workers");
        if (workers.isEmpty() && ring == 0 && step > 0) {
            // A local run has no coordinator and no events.jsonl: its one worker is this process.
            table.addObject().put("rank", 0).put("host", "local").put("worker", "local").put("state", "active")
                    .put("stepMs", lastStepMillis);
        }
        for (ObjectNode w : workers.values()) {
            ObjectNode row = w.deepCopy();
            if ("active".equals(w.path("state").asText())) {
                row.put("stepMs", lastStepMillis);
            }
            table.add(row);
        }
        return root.toString();
    }

    /** Reads the complete lines appended to events.jsonl since the last call. */
    private void readNewEvents() {
        if (eventsFile == null || !Files.isRegularFile(eventsFile)) {
            return;
        }
        try (RandomAccessFile f = new RandomAccessFile(eventsFile.toFile(), "r")) {
            long length = f.length();
            if (length < eventsRead) {
                eventsRead = 0; // replaced (a --force run): start over
                workers.clear();
            }
            if (length == eventsRead) {
                return;
            }
            byte[] bytes = new byte[(int) Math.min(length - eventsRead, 1 << 20)];
            f.seek(eventsRead);
            f.readFully(bytes);
            int lineStart = 0;
            for (int i = 0; i < bytes.length; i++) {
                if (bytes[i] == '\n') {
                    apply(new String(bytes, lineStart, i - lineStart, StandardCharsets.UTF_8));
                    lineStart = i + 1;
                }
            }
            eventsRead += lineStart; // a partial last line is read again once it is complete
        } catch (IOException e) {
            // The file is the coordinator's; a failed read only delays the table to the next message.
        }
    }

    private void apply(String line) {
        JsonNode e;
        try {
            e = JSON.readTree(line);
        } catch (IOException bad) {
            return;
        }
        String time = e.path("time").asText();
        String worker = e.path("worker").asText(null);
        switch (e.path("event").asText()) {
            case "join" -> {
                ObjectNode w = worker(worker);
                w.put("host", e.path("host").asText()).put("state", "joined").put("since", time);
            }
            case "leave" -> state(worker, "left", time);
            case "failure" -> {
                String reason = e.path("reason").asText();
                if (worker != null) {
                    state(worker, "failed", time).put("reason", reason);
                }
                // A failed or late step names ranks of the current ring, not workers.
                for (JsonNode rank : e.path("ranks")) {
                    workerAt(rank.asInt()).forEach(ref -> state(ref, "failed", time).put("reason", reason));
                }
            }
            case "ring" -> {
                for (ObjectNode w : workers.values()) {
                    if ("active".equals(w.path("state").asText())) {
                        w.put("state", "joined").remove("rank");
                    }
                }
                for (JsonNode member : e.path("workers")) {
                    ObjectNode w = worker(member.path("worker").asText());
                    w.put("rank", member.path("rank").asInt()).put("host", member.path("host").asText());
                    if (!"active".equals(w.path("state").asText())) {
                        w.put("state", "active").put("since", time);
                    }
                }
            }
            // A distributed run's checkpoints are written by its workers and logged here, not told to the listener.
            case "checkpoint" -> checkpoint(e.path("step").asLong(), e.path("file").asText(), Double.NaN, time);
            default -> { }
        }
    }

    /** The active worker at {@code rank} of the current ring, if any. */
    private List<String> workerAt(int rank) {
        List<String> at = new ArrayList<>();
        workers.forEach((ref, w) -> {
            if ("active".equals(w.path("state").asText()) && w.path("rank").asInt(-1) == rank) {
                at.add(ref);
            }
        });
        return at;
    }

    private ObjectNode state(String worker, String state, String time) {
        ObjectNode w = worker(worker);
        w.put("state", state).put("since", time).remove("rank");
        return w;
    }

    private ObjectNode worker(String ref) {
        ObjectNode w = workers.get(ref);
        if (w == null) {
            if (workers.size() == MAX_WORKERS) {
                dropOldestGone();
            }
            w = JSON.createObjectNode().put("worker", ref);
            workers.put(ref, w);
        }
        return w;
    }

    /** Forgets the first worker that left or failed (or, failing that, the first one) to keep the table bounded. */
    private void dropOldestGone() {
        String victim = workers.keySet().iterator().next();
        for (Map.Entry<String, ObjectNode> w : workers.entrySet()) {
            String s = w.getValue().path("state").asText();
            if (s.equals("left") || s.equals("failed")) {
                victim = w.getKey();
                break;
            }
        }
        workers.remove(victim);
    }

    /**
     * A series of at most {@code max} points: when full it keeps every other point and from
     * then on records only every {@code stride}-th step, so it covers the whole run evenly.
     */
    static final class Downsampled {
        private final int max;
        private List<double[]> points = new ArrayList<>();
        private long stride = 1;

        Downsampled(int max) {
            this.max = max;
        }

        void add(long step, double[] point) {
            if (step % stride != 0) {
                return;
            }
            if (points.size() == max) {
                List<double[]> kept = new ArrayList<>(max);
                for (int i = 0; i < points.size(); i += 2) {
                    kept.add(points.get(i));
                }
                points = kept;
                stride *= 2;
                if (step % stride != 0) {
                    return;
                }
            }
            points.add(point);
        }

        int size() {
            return points.size();
        }

        void writeTo(ArrayNode out) {
            for (double[] p : points) {
                ArrayNode row = out.addArray();
                for (double v : p) {
                    if (Double.isFinite(v)) {
                        row.add(v);
                    } else {
                        row.addNull();
                    }
                }
            }
        }
    }
}
