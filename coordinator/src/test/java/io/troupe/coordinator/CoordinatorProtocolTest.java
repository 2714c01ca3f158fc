package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.worker.job.protocol.ConnectRing;
import io.troupe.worker.job.protocol.FinishJob;
import io.troupe.worker.job.protocol.FormRing;
import io.troupe.worker.job.protocol.JobFinished;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.JoinJob;
import io.troupe.worker.job.protocol.LeaveRequest;
import io.troupe.worker.job.protocol.Probe;
import io.troupe.worker.job.protocol.ProbeReply;
import io.troupe.worker.job.protocol.RingReady;
import io.troupe.worker.job.protocol.RunStep;
import io.troupe.worker.job.protocol.StepDone;
import io.troupe.worker.job.protocol.StepFailed;
import io.troupe.worker.job.protocol.WorkerHello;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.job.protocol.JobMessageSerializer;
import io.troupe.worker.actor.ServiceKeys;
import io.troupe.worker.bert.MaskedTokens;
import io.troupe.worker.run.TrainListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator's side of failures and membership changes, against scripted workers: each
 * worker is a test probe that answers the protocol as a real worker would, or does not.
 */
class CoordinatorProtocolTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private ActorTestKit kit;

    @TempDir
    Path dir;

    /** A one-node cluster per test, so every test talks to its own coordinator only. */
    @BeforeEach
    void startCluster() {
        kit = OneNodeCluster.start("protocol-test", "WARNING", WAIT);
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    /**
     * A message as the other JVM would see it: through the serializer that the actor system
     * binds to {@link JobMessage}, so every message of these tests crosses the real wire format
     * (the job protocol's equivalent of {@code serialize-messages = on}, which would also demand
     * serializers for the actors' JVM-local commands).
     */
    private JobMessage overTheWire(JobMessage m) {
        Serialization serialization = SerializationExtension.get(Adapter.toClassic(kit.system()));
        Serializer serializer = serialization.findSerializerFor(m);
        assertEquals(JobMessageSerializer.class, serializer.getClass(), "JobMessage must not use a fallback serializer");
        byte[] bytes = serializer.toBinary(m);
        String manifest = ((SerializerWithStringManifest) serializer).manifest(m);
        JobMessage back = (JobMessage) serialization.deserialize(bytes, serializer.identifier(), manifest).get();
        assertEquals(m, back, "the wire changed the message");
        return back;
    }

    /** A scripted worker. */
    private final class FakeWorker {
        final TestProbe<JobMessage> probe = kit.createTestProbe();
        final ActorRef<JobMessage> ref = probe.ref();
        final int statePort;
        long step;
        long checksum = 77;
        int rank = -1;
        long generation;

        FakeWorker(int statePort) {
            this.statePort = statePort;
        }

        <T extends JobMessage> T expect(Class<T> type) {
            JobMessage payload = overTheWire(probe.expectMessageClass(JobMessage.class, WAIT));
            assertTrue(type.isInstance(payload), "expected a " + type.getSimpleName() + ", got " + payload);
            return type.cast(payload);
        }

        void send(JobMessage m) {
            coordinator.tell(overTheWire(m));
        }

        void hello() {
            send(new WorkerHello(ref, "test-version", 1, "cpu", "127.0.0.1"));
        }

        void prepare() {
            JoinJob join = expect(JoinJob.class);
            send(new JobReady(join.jobId(), 0, true, "", "", 0, -1, ref, "127.0.0.1", statePort));
        }

        void answerProbe() {
            Probe p = expect(Probe.class);
            generation = p.generation();
            send(new ProbeReply(p.jobId(), generation, ref, step, checksum, false));
        }

        FormRing takeRank() {
            FormRing f = expect(FormRing.class);
            rank = f.rank();
            if (f.syncPort() > 0) {
                step = f.syncStep();
            }
            send(new JobReady(f.jobId(), rank, true, "", "127.0.0.1", 20000 + rank, generation, ref, "", 0));
            return f;
        }

        void connect() {
            ConnectRing c = expect(ConnectRing.class);
            send(new RingReady(c.jobId(), rank, true, "", c.generation()));
        }

        RunStep awaitStep() {
            return expect(RunStep.class);
        }

        void done(RunStep r, boolean skipped) {
            done(r, skipped, Optional.empty());
        }

        void done(RunStep r, boolean skipped, Optional<MaskedTokens> valMasked) {
            step = r.step();
            send(new StepDone(r.jobId(), rank, r.step(), 2.0, 1.0, r.verifyParams() ? checksum : 0, 2.0, 2.1,
                    r.evaluate() ? 1 : 0, 0, 0, r.generation(), r.sampleFrom(), r.rows(), skipped, valMasked));
        }

        /** A step whose all-reduce took {@code allreduceMs}, of which {@code exposedMs} after the backward pass. */
        void done(RunStep r, double allreduceMs, double exposedMs) {
            step = r.step();
            send(new StepDone(r.jobId(), rank, r.step(), 2.0, 1.0, r.verifyParams() ? checksum : 0, 2.0, 2.1,
                    r.evaluate() ? 1 : 0, 20, allreduceMs, r.generation(), r.sampleFrom(), r.rows(), false,
                    Optional.empty(), exposedMs));
        }

        void fail(RunStep r, String why) {
            send(new StepFailed(r.jobId(), rank, r.step(), why, r.generation(), OptionalInt.empty()));
        }

        void finish() {
            FinishJob f = expect(FinishJob.class);
            send(new JobFinished(f.jobId(), rank, ""));
        }
    }

    private ActorRef<JobMessage> coordinator;
    private final CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();

    private void startJob(int workers, int steps, ElasticPolicy policy) throws Exception {
        startJob(workers, steps, policy, Map.of());
    }

    private void startJob(int workers, int steps, ElasticPolicy policy, Map<String, String> settings) throws Exception {
        Path data = MultiSystemTrainingTest.corpus(dir);
        JobSpec tiny = MultiSystemTrainingTest.tinyJob(data, dir.resolve("run"), workers, steps, settings);
        JobSpec spec = new JobSpec("job-" + System.nanoTime(), tiny.settings(), tiny.tokenizer(), tiny.dataPath(),
                tiny.dataSha256(), tiny.outDir(), workers, "test-version", Duration.ofSeconds(30), 1, tiny.wire(), policy,
                false);
        kit.spawn(Coordinator.create(spec, null, TrainListener.SILENT, outcome::complete));
        TestProbe<Receptionist.Listing> listings = kit.createTestProbe();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (coordinator == null && System.nanoTime() < deadline) {
            kit.system().receptionist().tell(Receptionist.find(ServiceKeys.COORDINATORS, listings.ref()));
            for (ActorRef<JobMessage> c : listings.receiveMessage(WAIT).getServiceInstances(ServiceKeys.COORDINATORS)) {
                coordinator = c;
            }
        }
        assertNotNull(coordinator);
    }

    private List<FakeWorker> join(int n) {
        List<FakeWorker> workers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            FakeWorker w = new FakeWorker(30000 + i);
            w.hello();
            w.prepare();
            workers.add(w);
        }
        return workers;
    }

    /** Probe, FormRing and ConnectRing for {@code ring}; returns the FormRing each got. */
    private List<FormRing> form(List<FakeWorker> ring) {
        ring.forEach(FakeWorker::answerProbe);
        List<FormRing> forms = new ArrayList<>();
        ring.forEach(w -> forms.add(w.takeRank()));
        ring.forEach(FakeWorker::connect);
        return forms;
    }

    private List<RunStep> step(List<FakeWorker> ring) {
        List<RunStep> steps = new ArrayList<>();
        ring.forEach(w -> steps.add(w.awaitStep()));
        for (int i = 0; i < ring.size(); i++) {
            ring.get(i).done(steps.get(i), false);
        }
        return steps;
    }

    private JsonNode summary() throws Exception {
        return new ObjectMapper().readTree(dir.resolve("run").resolve("summary.json").toFile());
    }

    @Test
    void aFailedStepIsRetriedOnTheSurvivorsWithTheSameSamples() throws Exception {
        startJob(3, 2, new ElasticPolicy(1, 3, Duration.ofMillis(1000), Duration.ofSeconds(10)));
        List<FakeWorker> workers = join(3);
        form(workers);
        step(workers);
        List<RunStep> second = new ArrayList<>();
        workers.forEach(w -> second.add(w.awaitStep()));
        assertEquals(6, second.get(0).sampleFrom(), "step 2 starts after step 1's 6 samples (batch_size 6)");
        // Worker 2 dies; worker 0's ring breaks. Worker 2 never answers the probe.
        workers.get(0).fail(second.get(0), "successor closed the connection");
        List<FakeWorker> survivors = workers.subList(0, 2);
        List<FormRing> forms = form(survivors);
        for (FormRing f : forms) {
            assertEquals(2, f.worldSize());
            assertEquals(0, f.syncPort(), "both survivors hold step 1's state");
        }
        List<RunStep> retried = step(survivors);
        assertEquals(2, retried.get(0).step(), "the interrupted step is retried");
        assertEquals(6, retried.get(0).sampleFrom());
        assertEquals(3, retried.get(0).rows());
        assertEquals(9, retried.get(1).sampleFrom());
        survivors.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        JsonNode s = summary();
        assertEquals(12, s.get("samples_consumed").asLong());
        assertEquals(0, s.get("samples_duplicated").asLong());
        assertEquals(0, s.get("samples_lost").asLong());
        assertEquals(1, s.get("membership_changes").asLong());
        assertEquals(1, s.get("recovery_seconds").size());
    }

    @Test
    void aWorkerThatFinishedTheInterruptedStepMakesItCountAndTheOthersCatchUp() throws Exception {
        startJob(2, 3, new ElasticPolicy(1, 2, Duration.ofMillis(1000), Duration.ofSeconds(10)));
        List<FakeWorker> workers = join(2);
        form(workers);
        step(workers);
        RunStep a = workers.get(0).awaitStep();
        RunStep b = workers.get(1).awaitStep();
        workers.get(0).done(a, false); // its all-reduce completed...
        workers.get(1).fail(b, "predecessor closed the connection"); // ...this one's did not
        workers.get(1).step = 1;
        List<FormRing> forms = form(workers);
        assertEquals(0, forms.get(0).syncPort());
        assertEquals(30000, forms.get(1).syncPort(), "the worker behind fetches worker 0's state");
        assertEquals(2, forms.get(1).syncStep());
        List<RunStep> next = step(workers);
        assertEquals(3, next.get(0).step(), "step 2 is not run twice");
        assertEquals(12, next.get(0).sampleFrom());
        workers.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        JsonNode s = summary();
        assertEquals(18, s.get("samples_consumed").asLong());
        assertEquals(0, s.get("samples_duplicated").asLong());
        assertEquals(0, s.get("samples_lost").asLong());
    }

    @Test
    void theMaskedAccuracyPoolsEveryWorkersHitsOverTheirMaskedPositions() throws Exception {
        startJob(2, 2, new ElasticPolicy(1, 2, Duration.ofMillis(1000), Duration.ofSeconds(10)),
                Map.of("eval_interval", "1"));
        List<FakeWorker> workers = join(2);
        form(workers);
        // Pooled: (3 + 1) / (10 + 30) = 0.1; a mean of the ratios would say 0.1667, rank 0 alone 0.3.
        List<MaskedTokens> counts = List.of(new MaskedTokens(3, 10), new MaskedTokens(1, 30));
        for (int step = 1; step <= 2; step++) {
            List<RunStep> runs = new ArrayList<>();
            workers.forEach(w -> runs.add(w.awaitStep()));
            for (int i = 0; i < 2; i++) {
                assertTrue(runs.get(i).evaluate(), "eval_interval 1 evaluates every step");
                workers.get(i).done(runs.get(i), false, Optional.of(counts.get(i)));
            }
        }
        workers.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        assertEquals(0.1, summary().get("final_val_masked_accuracy").asDouble(), 1e-15);
        List<String> lines = Files.readAllLines(dir.resolve("run").resolve("metrics.jsonl"));
        JsonNode last = new ObjectMapper().readTree(lines.get(lines.size() - 1));
        assertEquals(2, last.get("step").asLong());
        assertEquals(0.1, last.get("val_masked_accuracy").asDouble(), 1e-15);
    }

    @Test
    void theSummaryReportsTheExposedAllReduceAndTheBytesOfEveryStep() throws Exception {
        startJob(2, 3, new ElasticPolicy(1, 2, Duration.ofMillis(1000), Duration.ofSeconds(10)));
        List<FakeWorker> workers = join(2);
        form(workers);
        for (int step = 1; step <= 3; step++) {
            List<RunStep> runs = new ArrayList<>();
            workers.forEach(w -> runs.add(w.awaitStep()));
            workers.get(0).done(runs.get(0), 10, 2);
            workers.get(1).done(runs.get(1), 12, 4);
        }
        workers.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        JsonNode s = summary();
        assertEquals(11, s.get("allreduce_ms_per_step").asDouble(), 1e-12, "the mean over the workers");
        assertEquals(3, s.get("allreduce_exposed_ms_per_step").asDouble(), 1e-12, "the mean of 2 and 4");
        assertEquals(3 / s.get("step_ms").asDouble(), s.get("allreduce_exposed_fraction").asDouble(), 1e-9,
                "exposed time over the steps' wall time");
        long params = s.get("params").asLong();
        assertEquals(3 * 2L * (2 - 1) * params * 4, s.get("allreduce_bytes_total").asLong(),
                "three fp32 ring all-reduces of 2 workers: 2(N-1) x the gradient bytes each");
    }

    @Test
    void reportsWithoutCountsWriteNoMaskedAccuracy() throws Exception {
        startJob(1, 1, new ElasticPolicy(1, 1, Duration.ofMillis(1000), Duration.ofSeconds(10)),
                Map.of("eval_interval", "1"));
        List<FakeWorker> workers = join(1);
        form(workers);
        step(workers);
        workers.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        assertFalse(summary().has("final_val_masked_accuracy"), summary().toString());
        assertFalse(Files.readString(dir.resolve("run").resolve("metrics.jsonl")).contains("masked"));
    }

    @Test
    void nonFiniteStepsAreSkippedAndTooManyInARowStopTheRun() throws Exception {
        startJob(1, 10, new ElasticPolicy(1, 1, Duration.ofMillis(1000), Duration.ofSeconds(10)),
                Map.of("max_nonfinite_steps", "2"));
        List<FakeWorker> workers = join(1);
        form(workers);
        FakeWorker w = workers.get(0);
        w.done(w.awaitStep(), true);
        w.done(w.awaitStep(), false); // a good step resets the count
        w.done(w.awaitStep(), true);
        w.done(w.awaitStep(), true);
        JobOutcome result = outcome.get(10, TimeUnit.SECONDS);
        assertNotNull(result.failure());
        assertTrue(result.failure().contains("2 steps in a row up to step 4 had a non-finite loss or gradient"),
                result.failure());
        assertTrue(result.failure().contains("last good checkpoint"), result.failure());
    }

    @Test
    void aWorkerWhoseParametersDriftedResyncsFromTheMajority() throws Exception {
        startJob(3, 2, new ElasticPolicy(1, 3, Duration.ofMillis(1000), Duration.ofSeconds(10)));
        List<FakeWorker> workers = join(3);
        form(workers);
        workers.get(2).checksum = 78;
        step(workers); // verify_interval 1: every step compares checksums
        List<FormRing> forms = form(workers);
        assertEquals(0, forms.get(0).syncPort());
        assertEquals(0, forms.get(1).syncPort());
        assertEquals(30000, forms.get(2).syncPort(), "the odd one out fetches the majority's state");
        assertEquals(1, forms.get(2).syncStep());
    }

    @Test
    void belowMinWorkersTheJobPausesUntilAWorkerJoins() throws Exception {
        startJob(2, 2, new ElasticPolicy(2, 2, Duration.ofMillis(1000), Duration.ofSeconds(10)));
        List<FakeWorker> workers = join(2);
        form(workers);
        step(workers);
        RunStep r = workers.get(0).awaitStep();
        workers.get(1).awaitStep();
        workers.get(0).fail(r, "successor closed the connection");
        workers.get(0).answerProbe(); // worker 1 is gone: one worker left, min is 2
        workers.get(0).probe.expectNoMessage(Duration.ofMillis(2500)); // well past the 1 s probe timeout
        assertFalse(outcome.isDone(), "a paused job does not fail");

        FakeWorker newcomer = new FakeWorker(30009);
        newcomer.hello();
        newcomer.prepare();
        List<FakeWorker> ring = List.of(workers.get(0), newcomer);
        List<FormRing> forms = form(ring);
        assertEquals(30000, forms.get(1).syncPort(), "the newcomer fetches the survivor's state");
        assertEquals(1, forms.get(1).syncStep());
        List<RunStep> retried = step(ring);
        assertEquals(2, retried.get(0).step());
        ring.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        assertEquals(2, summary().get("membership_changes").asLong(), "one left, one joined");
    }

    @Test
    void aStandbyThatAnswersTheProbeLateKeepsItsPreparationAndJoinsAtTheNextStepBoundary() throws Exception {
        startJob(2, 4, new ElasticPolicy(1, 2, Duration.ofMillis(1000), Duration.ofSeconds(10)));
        List<FakeWorker> workers = join(2);
        FakeWorker spare = new FakeWorker(30009);
        spare.send(new WorkerHello(spare.ref, "test-version", 1, "cpu", "127.0.0.1", "", true));
        spare.prepare(); // ready in reserve: the ring of 2 is full
        form(workers);
        step(workers);
        // Worker 1 dies in step 2; the standby is too slow to answer the probe that follows.
        RunStep second = workers.get(0).awaitStep();
        workers.get(1).awaitStep();
        workers.get(0).fail(second, "successor closed the connection");
        workers.get(0).answerProbe();
        Probe missed = spare.expect(Probe.class);
        FormRing alone = workers.get(0).takeRank();
        assertEquals(1, alone.worldSize(), "the ring forms without the silent standby");
        workers.get(0).connect();
        RunStep retried = workers.get(0).awaitStep();
        assertEquals(2, retried.step());
        // Its late answer: it was kept prepared in reserve (not released), and the ring has room.
        spare.send(new ProbeReply(missed.jobId(), missed.generation(), spare.ref, 0, 1, false));
        workers.get(0).done(retried, false);
        List<FakeWorker> ring = List.of(workers.get(0), spare);
        List<FormRing> forms = form(ring); // the standby's next message is a probe, not a release
        assertEquals(2, forms.get(1).worldSize());
        assertEquals(30000, forms.get(1).syncPort(), "the standby fetches the survivor's state");
        assertEquals(2, forms.get(1).syncStep());
        assertEquals(3, step(ring).get(0).step());
        step(ring);
        ring.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        JsonNode s = summary();
        assertEquals(24, s.get("samples_consumed").asLong(), "4 steps of 6, each once");
        assertEquals(0, s.get("samples_lost").asLong());
        List<String> joins = Files.readAllLines(dir.resolve("run").resolve(JobEventLog.FILE)).stream()
                .filter(l -> l.contains("\"event\":\"join\"")).toList();
        assertEquals(3, joins.size(), joins.toString());
        assertTrue(joins.get(2).contains("\"standby\":true") && joins.get(0).contains("\"standby\":false"),
                joins.toString());
    }

    @Test
    void aWorkerThatAsksToLeaveIsReleasedAtTheNextStepBoundary() throws Exception {
        startJob(2, 3, new ElasticPolicy(1, 2, Duration.ofMillis(1000), Duration.ofSeconds(10)));
        List<FakeWorker> workers = join(2);
        form(workers);
        List<RunStep> first = new ArrayList<>();
        workers.forEach(w -> first.add(w.awaitStep()));
        FakeWorker leaver = workers.get(1);
        leaver.send(new LeaveRequest(first.get(0).jobId(), leaver.ref));
        workers.get(0).done(first.get(0), false);
        leaver.done(first.get(1), false); // it finishes the step it is in
        workers.get(0).answerProbe();
        Probe p = leaver.expect(Probe.class);
        leaver.send(new ProbeReply(p.jobId(), p.generation(), leaver.ref, 1, 77, true));
        FinishJob release = leaver.expect(FinishJob.class);
        assertFalse(release.exportModel());
        workers.get(0).takeRank();
        workers.get(0).connect();
        RunStep alone = workers.get(0).awaitStep();
        assertEquals(2, alone.step());
        assertEquals(6, alone.rows(), "one worker takes the whole global batch");
    }

    @Test
    void aStalledStepTimesOutOnADeadlineThatAdaptsToTheStepTimeNotTheStepTimeout() throws Exception {
        kit.shutdownTestKit();
        kit = OneNodeCluster.start("protocol-test", "WARNING", WAIT,
                "troupe.cluster.step-deadline { factor = 20, floor = 2s }");
        // step-timeout is 30 s (startJob); the fake steps take milliseconds, so the deadline is the floor.
        startJob(3, 10, new ElasticPolicy(1, 3, Duration.ofMillis(1000), Duration.ofSeconds(10)),
                Map.of("eval_interval", "100"));
        List<FakeWorker> workers = join(3);
        form(workers);
        for (int i = 0; i < StepDeadline.WARM_UP + 1; i++) {
            step(workers);
        }
        // Step 7: worker 2 is frozen (its node still heartbeats) and the other two wait for it in the
        // all-reduce, so nobody reports. Without an adaptive deadline this waits out the 30 s step-timeout.
        long stalledAt = System.nanoTime();
        List<RunStep> stalled = new ArrayList<>();
        workers.forEach(w -> stalled.add(w.awaitStep()));
        List<FakeWorker> survivors = workers.subList(0, 2);
        survivors.forEach(FakeWorker::answerProbe); // WAIT is 10 s: red when the deadline is the step-timeout
        double seconds = (System.nanoTime() - stalledAt) / 1e9;
        assertTrue(seconds >= 1.9 && seconds < 10, "the stalled step was given up after " + seconds + " s");
        workers.get(2).expect(Probe.class); // and never answered: the frozen worker is taken out
        survivors.forEach(FakeWorker::takeRank);
        survivors.forEach(FakeWorker::connect);
        List<RunStep> retried = step(survivors);
        assertEquals(stalled.get(0).step(), retried.get(0).step(), "the stalled step is retried");
        assertEquals(stalled.get(0).sampleFrom(), retried.get(0).sampleFrom(), "with the same samples");
        for (int step = 8; step <= 10; step++) {
            step(survivors);
        }
        survivors.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        JsonNode s = summary();
        assertEquals(0, s.get("samples_lost").asLong());
        assertEquals(0, s.get("samples_duplicated").asLong());
        assertEquals(1, s.get("membership_changes").asLong());
    }
}
