package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.engine.Device;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.session.WorkerSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker the coordinator refuses at the door (other data-plane settings) stops serving at once
 * with the coordinator's reason, while the coordinator goes on with its job. Before, the refused
 * worker's actor stopped but its node stayed in the cluster until the coordinator's job ended, so
 * its process outlived SecurityIT's wait during a long job.
 */
class RefusedWorkerTest {
    private static final ClusterNode.Timings TIMINGS = new ClusterNode.Timings(Duration.ofSeconds(60), 5,
            Duration.ofSeconds(60), Duration.ofSeconds(5), Duration.ofSeconds(30));

    @TempDir
    Path dir;

    @Test
    void aRefusedWorkerStopsWithTheReasonWhileTheJobWaitsForOthers() throws Exception {
        JobSpec job = MultiSystemTrainingTest.tinyJob(MultiSystemTrainingTest.corpus(dir), dir.resolve("run"), 1, 3);
        CompletableFuture<Address> bound = new CompletableFuture<>();
        CompletableFuture<JobOutcome> outcome = CompletableFuture.supplyAsync(() -> {
            try {
                return ClusterNode.runCoordinator(job, "127.0.0.1", 0, TrainListener.SILENT, bound::complete);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Address coordinator = bound.get(60, TimeUnit.SECONDS);

        // 64 KiB chunks against the coordinator's 512 KiB: a ring with both could not reduce.
        String refusal = worker(coordinator, RingSettings.defaults().withChunkBytes(64 * 1024))
                .get(180, TimeUnit.SECONDS); // generous: a join and a shutdown on a loaded machine
        assertNotNull(refusal, "a refused worker reported a served job");
        assertTrue(refusal.contains("refused this worker") && refusal.contains("chunk-size=65536")
                && refusal.contains("chunk-size=" + RingSettings.DEFAULT_CHUNK_BYTES), refusal);
        assertFalse(refusal.contains("\n"), "one line: " + refusal);
        assertFalse(outcome.isDone(), "the coordinator still waits for a worker it can admit: " + outcome.getNow(null));

        // The job is unharmed: a worker with the coordinator's settings is admitted and finishes it.
        CompletableFuture<String> good = worker(coordinator, RingSettings.defaults());
        assertNull(outcome.get(180, TimeUnit.SECONDS).failure());
        assertNull(good.get(120, TimeUnit.SECONDS));
    }

    private static CompletableFuture<String> worker(Address coordinator, RingSettings ring) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return ClusterNode.runWorker(coordinator.getHost().get(), (Integer) coordinator.getPort().get(),
                        "127.0.0.1", new WorkerSettings(1, Device.cpu(), "test-version"), ring, TIMINGS,
                        Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
