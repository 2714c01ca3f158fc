package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.troupe.coordinator.Membership.Member;
import io.troupe.worker.job.protocol.WorkerHello;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.Map;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The fault history of summary.json spans every coordinator of a job: a resumed one appends to events.jsonl. */
class FaultHistoryTest {

    @TempDir
    Path run;

    private static Member worker(String name) {
        return new Member("pekko://troupe@10.0.0.2:2553/user/" + name, new Address("pekko", "troupe", "10.0.0.2", 2553),
                message -> { }, new WorkerHello(null, "0.1.0", 2, "cpu", "10.0.0.2"), 0);
    }

    @Test
    void countsSurviveACoordinatorCrashAndResume() throws Exception {
        Member a = worker("a");
        Member b = worker("b");
        // The first coordinator: two joins, a failure, then it crashes mid-line.
        try (JobEventLog log = JobEventLog.open(run, Clock.systemUTC(), LoggerFactory.getLogger("test"))) {
            log.jobStarted("job-1", 0, false);
            log.joined(a);
            log.joined(b);
            log.failed(b, "node is unreachable");
        }
        Files.writeString(run.resolve(JobEventLog.FILE), "{\"time\":\"2026-12-0", StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);
        // The resumed coordinator appends its own history.
        try (JobEventLog log = JobEventLog.open(run, Clock.systemUTC(), LoggerFactory.getLogger("test"))) {
            log.jobStarted("job-1", 20, true);
            log.joined(a);
            log.left(a);
            log.failed(null, "step 21 timed out", java.util.List.of(1));
        }
        FaultHistory history = FaultHistory.read(run);
        assertEquals(new FaultHistory(3, 1, 2, 1), history);
        assertEquals(Map.of("joins", 3L, "leaves", 1L, "failures", 2L, "coordinator_restarts", 1L), history.toJson());
    }

    @Test
    void aRunWithoutEventsHasAnEmptyHistory() throws Exception {
        assertEquals(new FaultHistory(0, 0, 0, 0), FaultHistory.read(run));
    }
}
