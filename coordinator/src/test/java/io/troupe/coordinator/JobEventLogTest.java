package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.coordinator.Membership.Member;
import io.troupe.worker.job.protocol.WorkerHello;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class JobEventLogTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-06T20:40:00Z"), ZoneOffset.UTC);

    @TempDir
    Path run;

    private static Member worker(String name, String host) {
        return new Member("pekko://troupe@" + host + ":2553/user/" + name, new Address("pekko", "troupe", host, 2553),
                message -> { }, new WorkerHello(null, "0.1.0", 2, "cpu", host), 0);
    }

    @Test
    void everyKindIsOneLineWithItsTimeAndFields() throws Exception {
        Member a = worker("a", "10.0.0.2");
        Member b = worker("b", "10.0.0.3");
        try (JobEventLog log = JobEventLog.open(run, CLOCK, LoggerFactory.getLogger("test"))) {
            log.jobStarted("job-1", 0, false);
            log.joined(a);
            log.joined(b);
            log.ringFormed(1, 0, List.of(a, b));
            log.checkpoint(10, run.resolve("checkpoints/ckpt-10.bin"));
            log.failed(b, "node pekko://troupe@10.0.0.3:2553 is unreachable");
            log.left(a);
            log.jobEnded(12, "every worker that held the state is gone");
        }
        List<JsonNode> lines = read();
        assertEquals(List.of("job_start", "join", "join", "ring", "checkpoint", "failure", "leave", "job_end"),
                lines.stream().map(l -> l.get("event").asText()).toList());
        assertTrue(lines.stream().allMatch(l -> l.get("time").asText().equals("2026-12-06T20:40:00Z")));
        assertEquals("10.0.0.3", lines.get(2).get("host").asText());
        JsonNode ring = lines.get(3).get("workers");
        assertEquals(2, ring.size());
        assertEquals(1, ring.get(1).get("rank").asInt());
        assertEquals("10.0.0.3", ring.get(1).get("host").asText());
        assertEquals(10, lines.get(4).get("step").asLong());
        assertTrue(lines.get(5).get("worker").asText().endsWith("/user/b"));
        assertEquals(12, lines.get(7).get("step").asLong());
        assertEquals("every worker that held the state is gone", lines.get(7).get("error").asText());
    }

    @Test
    void aResumedCoordinatorAppends() throws Exception {
        try (JobEventLog log = JobEventLog.open(run, CLOCK, LoggerFactory.getLogger("test"))) {
            log.jobStarted("job-1", 0, false);
        }
        try (JobEventLog log = JobEventLog.open(run, CLOCK, LoggerFactory.getLogger("test"))) {
            log.jobStarted("job-1", 20, true);
            log.jobEnded(40, null);
        }
        List<JsonNode> lines = read();
        assertEquals(3, lines.size());
        assertEquals(false, lines.get(0).get("resumed").asBoolean());
        assertEquals(true, lines.get(1).get("resumed").asBoolean());
        assertTrue(lines.get(2).get("error").isNull());
    }

    private List<JsonNode> read() throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve(JobEventLog.FILE))) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }
}
