package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.actor.ServiceKeys;
import io.troupe.worker.job.protocol.ConnectRing;
import io.troupe.worker.job.protocol.FormRing;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.JoinJob;
import io.troupe.worker.job.protocol.Probe;
import io.troupe.worker.job.protocol.ProbeReply;
import io.troupe.worker.job.protocol.RingReady;
import io.troupe.worker.job.protocol.WorkerHello;
import io.troupe.worker.run.TrainListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A crash of the coordinator actor ends the job with a clear failure instead of a hang. */
class CoordinatorSupervisorTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private ActorTestKit kit;

    @TempDir
    Path dir;

    @BeforeEach
    void startCluster() {
        kit = OneNodeCluster.start("supervisor-test", "OFF", WAIT);
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    /** A listener that throws when training starts: an unexpected exception inside the coordinator actor. */
    private static final class BrokenListener implements TrainListener {
        @Override
        public void onStart(long fromStep, long maxIters, long parameters) {
            throw new IllegalStateException("disk on fire");
        }
    }

    @Test
    void aCrashedCoordinatorEndsTheJobWithAFailureNamingTheCauseAndHowToResume() throws Exception {
        Path data = MultiSystemTrainingTest.corpus(dir);
        Path run = dir.resolve("run");
        JobSpec tiny = MultiSystemTrainingTest.tinyJob(data, run, 1, 5);
        JobSpec spec = new JobSpec("job-crash", tiny.settings(), tiny.tokenizer(), tiny.dataPath(), tiny.dataSha256(),
                tiny.outDir(), 1, "test-version", Duration.ofSeconds(30), 1, tiny.wire(),
                new ElasticPolicy(1, 1, Duration.ofSeconds(1), Duration.ofSeconds(10)), false);
        CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();
        kit.spawn(CoordinatorSupervisor.create(spec, null, new BrokenListener(), outcome::complete, null));

        // One scripted worker takes the job up to the point where training starts.
        ActorRef<JobMessage> coordinator = findCoordinator();
        TestProbe<JobMessage> worker = kit.createTestProbe();
        coordinator.tell(new WorkerHello(worker.ref(), "test-version", 1, "cpu", "127.0.0.1"));
        JoinJob join = worker.expectMessageClass(JoinJob.class, WAIT);
        coordinator.tell(new JobReady(join.jobId(), 0, true, "", "", 0, -1, worker.ref(), "127.0.0.1", 30000));
        Probe probe = worker.expectMessageClass(Probe.class, WAIT);
        coordinator.tell(new ProbeReply(probe.jobId(), probe.generation(), worker.ref(), 0, 77, false));
        FormRing form = worker.expectMessageClass(FormRing.class, WAIT);
        coordinator.tell(new JobReady(form.jobId(), 0, true, "", "127.0.0.1", 20000, form.generation(), worker.ref(),
                "", 0));
        ConnectRing connect = worker.expectMessageClass(ConnectRing.class, WAIT);
        coordinator.tell(new RingReady(connect.jobId(), 0, true, "", connect.generation()));

        JobOutcome result = outcome.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertNull(result.summary());
        assertNotNull(result.failure());
        assertTrue(result.failure().startsWith("the coordinator failed: disk on fire"), result.failure());
        assertTrue(result.failure().contains("no checkpoint yet"), result.failure());
        assertEquals(1, result.failure().lines().count(), "one line");
    }

    @Test
    void theCrashReportNamesTheNewestCheckpointAndTheResumeCommand() throws Exception {
        Path checkpoints = Files.createDirectories(dir.resolve("checkpoints"));
        Files.writeString(checkpoints.resolve("ckpt-40.bin"), "x");
        Files.writeString(checkpoints.resolve("ckpt-120.bin"), "x");
        String report = CoordinatorSupervisor.crashReport(
                new RuntimeException("wrapped", new ArithmeticException("/ by zero")), dir);
        assertEquals("the coordinator failed: / by zero (ArithmeticException); the run directory " + dir
                + " has checkpoints up to step 120; resume with 'troupe coordinator --resume " + dir + "'", report);
    }

    private ActorRef<JobMessage> findCoordinator() {
        TestProbe<Receptionist.Listing> listings = kit.createTestProbe();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            kit.system().receptionist().tell(Receptionist.find(ServiceKeys.COORDINATORS, listings.ref()));
            for (ActorRef<JobMessage> c : listings.receiveMessage(WAIT).getServiceInstances(ServiceKeys.COORDINATORS)) {
                return c;
            }
        }
        throw new AssertionError("the coordinator did not register within " + WAIT);
    }
}
