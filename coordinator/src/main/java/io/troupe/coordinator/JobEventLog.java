package io.troupe.coordinator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.coordinator.Membership.Member;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.List;
import org.slf4j.Logger;

/**
 * The coordinator's log of what happened to a job, {@code DIR/events.jsonl}: one JSON object per
 * line, each with {@code time} (ISO-8601, UTC) and {@code event}:
 *
 * <ul>
 *   <li>{@code job_start}: {@code job}, {@code step} (0, or the resumed checkpoint's), {@code resumed};</li>
 *   <li>{@code join}: {@code worker}, {@code host}, {@code threads}, {@code device};</li>
 *   <li>{@code leave}: {@code worker} (it asked to, e.g. on SIGTERM);</li>
 *   <li>{@code failure}: {@code worker} or {@code null}, {@code reason} (a lost node, a failed or late step),
 *       and {@code ranks}, the ring ranks it blames (empty when it names a worker or none);</li>
 *   <li>{@code ring}: {@code generation}, {@code step} (the last committed), {@code workers} (in rank
 *       order: {@code rank}, {@code worker}, {@code host});</li>
 *   <li>{@code checkpoint}: {@code step}, {@code file};</li>
 *   <li>{@code job_end}: {@code step}, {@code error} (null when it finished).</li>
 * </ul>
 *
 * <p>The file is only ever appended to, so a resumed coordinator continues the history of the
 * one that crashed. Each line is flushed as written. A write that fails is logged once and
 * ends the log, never the job.
 */
final class JobEventLog implements AutoCloseable {
    /** Name of the log inside the run directory. */
    static final String FILE = "events.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final BufferedWriter writer;
    private final Clock clock;
    private final Logger log;
    private boolean failed;

    private JobEventLog(Path file, BufferedWriter writer, Clock clock, Logger log) {
        this.file = file;
        this.writer = writer;
        this.clock = clock;
        this.log = log;
    }

    /**
     * Opens {@code dir/events.jsonl} for appending.
     *
     * @throws IOException if it cannot be opened
     */
    static JobEventLog open(Path dir, Clock clock, Logger log) throws IOException {
        Path file = dir.resolve(FILE);
        Files.createDirectories(dir);
        BufferedWriter writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        if (endsTorn(file)) {
            // A coordinator that crashed mid-line: end that line, so the resumed history starts on its own.
            writer.write('\n');
            writer.flush();
        }
        return new JobEventLog(file, writer, clock, log);
    }

    // True if the file is not empty and its last byte is not a newline.
    private static boolean endsTorn(Path file) throws IOException {
        try (java.nio.channels.SeekableByteChannel channel = Files.newByteChannel(file)) {
            if (channel.size() == 0) {
                return false;
            }
            java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
            channel.position(channel.size() - 1).read(last);
            return last.get(0) != '\n';
        }
    }

    void jobStarted(String jobId, long step, boolean resumed) {
        write(event("job_start").put("job", jobId).put("step", step).put("resumed", resumed));
    }

    void joined(Member w) {
        write(event("join").put("worker", w.ref).put("host", w.hello.dataHost()).put("threads", w.hello.threads())
                .put("device", w.hello.device()).put("standby", w.hello.standby()));
    }

    void left(Member w) {
        write(event("leave").put("worker", w.ref));
    }

    /** A failure; {@code w} is null when the reason names ranks or a ring rather than one worker. */
    void failed(Member w, String reason) {
        failed(w, reason, List.of());
    }

    /** A failure blamed on {@code ranks} of the current ring (a failed or late step), so a reader can tell which workers. */
    void failed(Member w, String reason, List<Integer> ranks) {
        ObjectNode e = event("failure").put("worker", w == null ? null : w.ref).put("reason", reason);
        ArrayNode blamed = e.putArray("ranks");
        ranks.forEach(blamed::add);
        write(e);
    }

    void ringFormed(long generation, long step, List<Member> ring) {
        ObjectNode e = event("ring").put("generation", generation).put("step", step);
        ArrayNode workers = e.putArray("workers");
        for (int rank = 0; rank < ring.size(); rank++) {
            Member w = ring.get(rank);
            workers.addObject().put("rank", rank).put("worker", w.ref).put("host", w.hello.dataHost());
        }
        write(e);
    }

    void checkpoint(long step, Path checkpoint) {
        write(event("checkpoint").put("step", step).put("file", checkpoint.toString()));
    }

    void jobEnded(long step, String error) {
        write(event("job_end").put("step", step).put("error", error));
    }

    private ObjectNode event(String name) {
        return JSON.createObjectNode().put("time", clock.instant().toString()).put("event", name);
    }

    private void write(ObjectNode line) {
        if (failed) {
            return;
        }
        try {
            writer.write(line.toString());
            writer.write('\n');
            writer.flush();
        } catch (IOException e) {
            failed = true;
            log.warn("cannot append to {} ({}); the job goes on without its event log", file, e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }
}
