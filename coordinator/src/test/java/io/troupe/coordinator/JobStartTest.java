package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.job.protocol.WorkerHello;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When a job may start, go on and take a newcomer, without an actor system. */
class JobStartTest {
    @TempDir
    Path dir;

    private JobStart start() throws Exception {
        JobSpec tiny = MultiSystemTrainingTest.tinyJob(MultiSystemTrainingTest.corpus(dir), dir.resolve("run"), 3, 2);
        return new JobStart(new JobSpec("job", tiny.settings(), tiny.tokenizer(), tiny.dataPath(), tiny.dataSha256(),
                tiny.outDir(), 3, "1.2", Duration.ofSeconds(30), 1, tiny.wire(),
                new ElasticPolicy(2, 4, Duration.ofSeconds(1), Duration.ofSeconds(60)), false), "chunk-size=524288");
    }

    @Test
    void theFirstStepWaitsForAllWorkersButAPausedJobOnlyForMinWorkers() throws Exception {
        JobStart start = start();
        assertFalse(start.canStart(2));
        assertTrue(start.canStart(3));
        assertFalse(start.canContinue(1));
        assertTrue(start.canContinue(2));
        assertTrue(start.hasRoom(3));
        assertFalse(start.hasRoom(4), "max-workers reached: the newcomer waits in reserve");
    }

    @Test
    void aWorkerOfAnotherVersionIsRefusedAndTheSeedRankWrapsAroundTheWorkers() throws Exception {
        JobStart start = start();
        assertTrue(start.refusal(new WorkerHello(null, "1.2", 1, "cpu", "h")).isEmpty());
        String refusal = start.refusal(new WorkerHello(null, "1.1", 1, "cpu", "h")).orElseThrow();
        assertTrue(refusal.contains("runs Troupe 1.2 but the worker runs 1.1"), refusal);
        assertEquals(1, start.invitation(null, 4).rank());
        assertEquals(3, start.invitation(null, 4).worldSize());
    }

    @Test
    void aWorkerWithAnotherChunkSizeIsRefusedAtTheDoorWithTheFix() throws Exception {
        JobStart start = start();
        assertTrue(start.refusal(new WorkerHello(null, "1.2", 1, "cpu", "h", "chunk-size=524288")).isEmpty());
        String refusal = start.refusal(new WorkerHello(null, "1.2", 1, "cpu", "h", "chunk-size=65536")).orElseThrow();
        assertTrue(refusal.contains("the worker's data plane has chunk-size=65536 but this coordinator's has"
                + " chunk-size=524288"), refusal);
        assertTrue(refusal.contains("set troupe.worker.data-plane the same on every node"), refusal);
    }
}
