package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Message;
import com.typesafe.config.ConfigFactory;
import io.troupe.protocol.cluster.ConnectRing;
import io.troupe.protocol.cluster.FinishJob;
import io.troupe.protocol.cluster.FormRing;
import io.troupe.protocol.cluster.JobFinished;
import io.troupe.protocol.cluster.JobReady;
import io.troupe.protocol.cluster.JoinJob;
import io.troupe.protocol.cluster.LeaveRequest;
import io.troupe.protocol.cluster.Probe;
import io.troupe.protocol.cluster.ProbeReply;
import io.troupe.protocol.cluster.RingReady;
import io.troupe.protocol.cluster.RunStep;
import io.troupe.protocol.cluster.StepDone;
import io.troupe.protocol.cluster.StepFailed;
import io.troupe.protocol.cluster.WorkerHello;
import io.troupe.protocol.serialization.ClusterMessage;
import io.troupe.worker.actor.ServiceKeys;
import io.troupe.worker.run.TrainListener;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
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
    private ActorRefResolver resolver;

    @TempDir
    Path dir;

    /** A one-node cluster per test, so every test talks to its own coordinator only. */
    @BeforeEach
    void startCluster() {
        kit = ActorTestKit.create("protocol-test", ConfigFactory.parseString(
                "pekko.remote.artery.canonical.port = 0\npekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
        Cluster cluster = Cluster.get(kit.system());
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (cluster.selfMember().status() != MemberStatus.up() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        resolver = ActorRefResolver.get(kit.system());
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    /** A scripted worker. */
    private final class FakeWorker {
        final TestProbe<ClusterMessage> probe = kit.createTestProbe();
        final String ref = resolver.toSerializationFormat(probe.ref());
        final int statePort;
        long step;
        long checksum = 77;
        int rank = -1;
        long generation;

        FakeWorker(int statePort) {
            this.statePort = statePort;
        }

        <T extends Message> T expect(Class<T> type) {
            Object payload = probe.expectMessageClass(ClusterMessage.class, WAIT).payload();
            assertTrue(type.isInstance(payload), "expected a " + type.getSimpleName() + ", got " + payload);
            return type.cast(payload);
        }

        void send(Message m) {
            coordinator.tell(new ClusterMessage(m));
        }

        void hello() {
            send(WorkerHello.newBuilder().setWorker(ref).setTroupeVersion("test-version").setThreads(1).setDevice("cpu")
                    .setDataHost("127.0.0.1").build());
        }

        void prepare() {
            JoinJob join = expect(JoinJob.class);
            send(JobReady.newBuilder().setJobId(join.getJobId()).setWorker(ref).setGeneration(-1).setOk(true)
                    .setStateHost("127.0.0.1").setStatePort(statePort).build());
        }

        void answerProbe() {
            Probe p = expect(Probe.class);
            generation = p.getGeneration();
            send(ProbeReply.newBuilder().setJobId(p.getJobId()).setGeneration(generation).setWorker(ref).setStep(step)
                    .setParamChecksum(checksum).build());
        }

        FormRing takeRank() {
            FormRing f = expect(FormRing.class);
            rank = f.getRank();
            if (f.getSyncPort() > 0) {
                step = f.getSyncStep();
            }
            send(JobReady.newBuilder().setJobId(f.getJobId()).setWorker(ref).setRank(rank).setGeneration(generation)
                    .setOk(true).setDataHost("127.0.0.1").setDataPort(20000 + rank).build());
            return f;
        }

        void connect() {
            ConnectRing c = expect(ConnectRing.class);
            send(RingReady.newBuilder().setJobId(c.getJobId()).setRank(rank).setGeneration(c.getGeneration()).setOk(true)
                    .build());
        }

        RunStep awaitStep() {
            return expect(RunStep.class);
        }

        void done(RunStep r, boolean skipped) {
            step = r.getStep();
            send(StepDone.newBuilder().setJobId(r.getJobId()).setRank(rank).setStep(r.getStep())
                    .setGeneration(r.getGeneration()).setLoss(2.0).setGradNorm(1.0).setSkipped(skipped)
                    .setSampleFrom(r.getSampleFrom()).setRows(r.getRows())
                    .setParamChecksum(r.getVerifyParams() ? checksum : 0)
                    .setEvalBatches(r.getEvaluate() ? 1 : 0).setTrainEvalLoss(2.0).setValEvalLoss(2.1).build());
        }

        void fail(RunStep r, String why) {
            send(StepFailed.newBuilder().setJobId(r.getJobId()).setRank(rank).setStep(r.getStep())
                    .setGeneration(r.getGeneration()).setError(why).build());
        }

        void finish() {
            FinishJob f = expect(FinishJob.class);
            send(JobFinished.newBuilder().setJobId(f.getJobId()).setRank(rank).build());
        }
    }

    private ActorRef<ClusterMessage> coordinator;
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
            for (ActorRef<ClusterMessage> c : listings.receiveMessage(WAIT).getServiceInstances(ServiceKeys.COORDINATORS)) {
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
        assertEquals(6, second.get(0).getSampleFrom(), "step 2 starts after step 1's 6 samples (batch_size 6)");
        // Worker 2 dies; worker 0's ring breaks. Worker 2 never answers the probe.
        workers.get(0).fail(second.get(0), "successor closed the connection");
        List<FakeWorker> survivors = workers.subList(0, 2);
        List<FormRing> forms = form(survivors);
        for (FormRing f : forms) {
            assertEquals(2, f.getWorldSize());
            assertEquals(0, f.getSyncPort(), "both survivors hold step 1's state");
        }
        List<RunStep> retried = step(survivors);
        assertEquals(2, retried.get(0).getStep(), "the interrupted step is retried");
        assertEquals(6, retried.get(0).getSampleFrom());
        assertEquals(3, retried.get(0).getRows());
        assertEquals(9, retried.get(1).getSampleFrom());
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
        assertEquals(0, forms.get(0).getSyncPort());
        assertEquals(30000, forms.get(1).getSyncPort(), "the worker behind fetches worker 0's state");
        assertEquals(2, forms.get(1).getSyncStep());
        List<RunStep> next = step(workers);
        assertEquals(3, next.get(0).getStep(), "step 2 is not run twice");
        assertEquals(12, next.get(0).getSampleFrom());
        workers.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        JsonNode s = summary();
        assertEquals(18, s.get("samples_consumed").asLong());
        assertEquals(0, s.get("samples_duplicated").asLong());
        assertEquals(0, s.get("samples_lost").asLong());
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
        assertEquals(0, forms.get(0).getSyncPort());
        assertEquals(0, forms.get(1).getSyncPort());
        assertEquals(30000, forms.get(2).getSyncPort(), "the odd one out fetches the majority's state");
        assertEquals(1, forms.get(2).getSyncStep());
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
        assertEquals(30000, forms.get(1).getSyncPort(), "the newcomer fetches the survivor's state");
        assertEquals(1, forms.get(1).getSyncStep());
        List<RunStep> retried = step(ring);
        assertEquals(2, retried.get(0).getStep());
        ring.forEach(FakeWorker::finish);
        assertNull(outcome.get(10, TimeUnit.SECONDS).failure());
        assertEquals(2, summary().get("membership_changes").asLong(), "one left, one joined");
    }

    @Test
    void aWorkerThatAsksToLeaveIsReleasedAtTheNextStepBoundary() throws Exception {
        startJob(2, 3, new ElasticPolicy(1, 2, Duration.ofMillis(1000), Duration.ofSeconds(10)));
        List<FakeWorker> workers = join(2);
        form(workers);
        List<RunStep> first = new ArrayList<>();
        workers.forEach(w -> first.add(w.awaitStep()));
        FakeWorker leaver = workers.get(1);
        leaver.send(LeaveRequest.newBuilder().setJobId(first.get(0).getJobId()).setWorker(leaver.ref).build());
        workers.get(0).done(first.get(0), false);
        leaver.done(first.get(1), false); // it finishes the step it is in
        workers.get(0).answerProbe();
        Probe p = leaver.expect(Probe.class);
        leaver.send(ProbeReply.newBuilder().setJobId(p.getJobId()).setGeneration(p.getGeneration()).setWorker(leaver.ref)
                .setStep(1).setParamChecksum(77).setLeaving(true).build());
        FinishJob release = leaver.expect(FinishJob.class);
        assertFalse(release.getExportModel());
        workers.get(0).takeRank();
        workers.get(0).connect();
        RunStep alone = workers.get(0).awaitStep();
        assertEquals(2, alone.getStep());
        assertEquals(6, alone.getRows(), "one worker takes the whole global batch");
    }
}
