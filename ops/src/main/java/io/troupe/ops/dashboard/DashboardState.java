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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the dashboard shows, kept as a {@link TrainListener} of the run: step points (loss,
 * tokens/s, MFU), evaluations, checkpoints, and the ring's workers, which it reads from the
 * coordinator's {@code DIR/events.jsonl} (joins, leaves, failures of a worker or of ring ranks, rings, and a distributed
 * run's checkpoints) as that file grows; a local run has no such file and shows one worker.
 * Memory stays flat: each series holds at most {@link #MAX_POINTS} points and halves its
 * resolution when full; at most {@link #MAX_CHECKPOINTS} checkpoints and {@link #MAX_WORKERS} workers.
 *
 * <p>Each event stream keeps a {@link Cursor}: its first message is the whole state
 * ({@code "full": true}); the next ones are deltas holding only the step points, evaluations
 * and checkpoints added since, and the worker table only when it changed. A series that halved
 * its resolution since the client's last message is sent whole again ({@code "reset": true}),
 * which happens about log2(steps / MAX_POINTS) times in a run.
 *
 * <p>Off the step path: {@link #onStep} and {@link #onEval} run on the training thread (the
 * coordinator's actor in a distributed run) and only hand their point to a {@link PointInbox};
 * the events file is read, the series are updated and halved, and the JSON is built by the
 * streams' threads in {@link #next}, which the training thread never waits for. A stream's
 * message carries every point added since its previous one, so a client costs one message per
 * period however many steps a second the run takes.
 */
public final class DashboardState implements TrainListener, DashboardFeed<DashboardState.Cursor> {
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
    /** Step points and evaluations handed over by the training thread, moved into the series off its path. */
    private final PointInbox stepInbox = new PointInbox(MAX_POINTS);
    private final PointInbox evalInbox = new PointInbox(MAX_POINTS);
    private long eventsRead;
    /** Checkpoints ever added (the deque keeps the last MAX_CHECKPOINTS): tells a cursor which are new. */
    private long checkpointsAdded;
    /** Bumped whenever the worker table changes, so a delta carries it only then. */
    private long workersVersion;
    /** The newest step, written by the training thread without the state's lock. */
    private volatile Progress progress = new Progress(0, 0, 0);
    private volatile int ring;
    private final AtomicInteger failures = new AtomicInteger();

    /** Where the run is: its newest step, its last step and how long the newest step took. */
    private record Progress(long step, long lastStep, double stepMillis) {
    }

    /**
     * @param eventsFile the coordinator's events.jsonl to follow for workers (absent for a local run)
     */
    public DashboardState(Path eventsFile, Clock clock) {
        this.eventsFile = eventsFile;
        this.clock = clock;
    }

    @Override
    public void onStart(long firstStep, long lastStep, long parameters) {
        progress = new Progress(firstStep, lastStep, 0);
    }

    /**
     * Called on the training thread (or the coordinator's actor) once a step: it only hands the
     * point over ({@link PointInbox}, a lock held for one list append) and never waits for a
     * message being built or the events file being read; the point joins its series when the
     * next message is built. With no page open the inbox is emptied here once every
     * {@link #MAX_POINTS} steps, so memory stays bounded.
     */
    @Override
    public void onStep(StepStats s) {
        progress = new Progress(s.step(), s.lastStep(), s.stepMillis());
        if (stepInbox.add(new double[] {s.step(), s.loss(), s.tokensPerSecond(), s.mfu()})) {
            synchronized (this) {
                drainInboxes();
            }
        }
    }

    @Override
    public void onEval(long step, double trainLoss, double valLoss) {
        if (evalInbox.add(new double[] {step, trainLoss, valLoss})) {
            synchronized (this) {
                drainInboxes();
            }
        }
    }

    /** Moves the handed-over points into their series (which may halve them); under the state's lock. */
    private void drainInboxes() {
        for (double[] p : stepInbox.take()) {
            steps.add((long) p[0], p);
        }
        for (double[] p : evalInbox.take()) {
            evals.add((long) p[0], p);
        }
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
        checkpointsAdded++;
    }

    @Override
    public void onRingFormed(int workers) {
        ring = workers;
    }

    @Override
    public void onWorkerFailure() {
        failures.incrementAndGet();
    }

    /** The whole state as one JSON object (a stream's first message, and what a test reads). */
    public String json() {
        return next(new Cursor());
    }

    /**
     * The next {@code /events} message for the stream whose position is {@code cursor}: the
     * whole state the first time, then what changed since the previous call; moves the cursor.
     */
    @Override
    public Cursor cursor() {
        return new Cursor();
    }

    @Override
    public synchronized String next(Cursor cursor) {
        readNewEvents();
        drainInboxes();
        Progress now = progress;
        int ring = this.ring;
        boolean full = !cursor.started;
        ObjectNode root = JSON.createObjectNode();
        root.put("kind", "train").put("full", full).put("time", clock.instant().toString()).put("step", now.step())
                .put("lastStep", now.lastStep()).put("ring", ring).put("failures", failures.get()).put("stepMs", now.stepMillis());
        cursor.steps = steps.writeSince(cursor.steps, root, "steps", full);
        cursor.evals = evals.writeSince(cursor.evals, root, "evals", full);
        long fresh = Math.min(checkpointsAdded - cursor.checkpoints, checkpoints.size());
        if (full || fresh > 0) {
            ArrayNode out = root.putArray("checkpoints");
            checkpoints.stream().skip(checkpoints.size() - fresh).forEach(out::add);
        }
        cursor.checkpoints = checkpointsAdded;
        if (full || cursor.workers != workersVersion || workers.isEmpty() && ring == 0) {
            writeWorkers(root.putArray("workers"), now, ring);
            cursor.workers = workersVersion;
        }
        cursor.started = true;
        return root.toString();
    }

    private void writeWorkers(ArrayNode table, Progress now, int ring) {
        if (workers.isEmpty() && ring == 0 && now.step() > 0) {
            // A local run has no coordinator and no events.jsonl: its one worker is this process.
            table.addObject().put("rank", 0).put("host", "local").put("worker", "local").put("state", "active")
                    .put("stepMs", now.stepMillis());
        }
        for (ObjectNode w : workers.values()) {
            ObjectNode row = w.deepCopy();
            if ("active".equals(w.path("state").asText())) {
                row.put("stepMs", now.stepMillis());
            }
            table.add(row);
        }
    }

    /**
     * Where one event stream is: what its client already has. Created per stream, used by one
     * thread at a time (the stream's), read and moved under the state's lock.
     */
    public static final class Cursor {
        private boolean started;
        private Downsampled.Position steps = Downsampled.Position.NONE;
        private Downsampled.Position evals = Downsampled.Position.NONE;
        private long checkpoints;
        private long workers = -1;
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
                workersVersion++;
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
        workersVersion++; // every event but a checkpoint touches the table; an extra resend is harmless
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
        /** Times the series was halved: a client that saw an earlier one needs the series again. */
        private int halvings;

        /** What a client has of a series: the halving it saw and how many points of it. */
        record Position(int halvings, int size) {
            static final Position NONE = new Position(-1, 0);
        }

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
                halvings++;
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
            writeRange(out, 0);
        }

        /**
         * Writes into {@code root.name} the points a client at {@code from} lacks: all of them
         * (and {@code name + "Reset": true}) when it has none or saw an older halving.
         *
         * @return the client's position afterwards
         */
        Position writeSince(Position from, ObjectNode root, String name, boolean full) {
            boolean reset = full || from.halvings() != halvings;
            if (reset && !full) {
                root.put(name + "Reset", true);
            }
            writeRange(root.putArray(name), reset ? 0 : from.size());
            return new Position(halvings, points.size());
        }

        private void writeRange(ArrayNode out, int from) {
            for (double[] p : points.subList(Math.min(from, points.size()), points.size())) {
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
