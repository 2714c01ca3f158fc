package io.troupe.worker.job.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.protocol.cluster.JobFrame;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.bert.MaskedTokens;
import java.io.NotSerializableException;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class JobMessageSerializerTest {
    private static ActorTestKit kit;
    private static Serialization serialization;
    private static ActorRef<JobMessage> coordinator;
    private static ActorRef<JobMessage> worker;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create("job-protocol-test");
        serialization = SerializationExtension.get(Adapter.toClassic(kit.system()));
        coordinator = kit.<JobMessage>createTestProbe().ref();
        worker = kit.<JobMessage>createTestProbe().ref();
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    /** One of every message, with values that no default could produce. */
    private static List<JobMessage> everyMessage() {
        return List.of(
                new WorkerHello(worker, "1.2.3", 7, "cuda:1", "10.0.0.5", "chunk-size=65536", true),
                new JoinJob(coordinator, "job-9", 2, 3, "{\"n_layer\":4}", "{\"type\":\"char\"}", "/data/in.txt",
                        "ab12", 4, 5, 60, "/runs/r1", WireFormat.BF16, true),
                new JobReady("job-9", 1, false, "no disk", "10.0.0.6", 40123, 17, worker, "10.0.0.7", 40124),
                new ConnectRing("job-9", "10.0.0.8", 40125, 18),
                new RingReady("job-9", 2, true, "", 19),
                new RunStep("job-9", 1234567890123L, 3.5e-4, true, false, true, 20, 98765432109L, 11, 4, 3, 5, 60),
                new StepDone("job-9", 3, 42, Double.NaN, -0.0, Long.MIN_VALUE, 2.25, Double.POSITIVE_INFINITY, 1,
                        12.5, 3.75, 21, 987, 13, true),
                new StepFailed("job-9", 4, 43, "ring broke", 22, OptionalInt.of(0)),
                new StepFailed("job-9", 4, 43, "engine failed", 22, OptionalInt.empty()),
                new FinishJob("job-9", true),
                new JobFinished("job-9", 5, "export failed"),
                new Probe("job-9", 23, "4d1c8e0f7a2b9c3e"),
                new ProbeReply("job-9", 23, worker, 44, -7L, true),
                new FormRing("job-9", 24, 1, 2, "10.0.0.9", 40126, 44, "9f2c61d0a4b3e8f7", "4d1c8e0f7a2b9c3e"),
                new LeaveRequest("job-9", worker),
                // An MLM evaluation's masked-token counts (optional fields: absent above, present here).
                new StepDone("job-9", 1, 45, 1.5, 0.5, 0, 2.5, 2.75, 1, 1, 1, 25, 0, 6, false,
                        Optional.of(new MaskedTokens(7_000_000_001L, 9_000_000_003L))),
                // An overlapped all-reduce: 3.75 ms in the ring, 0.5 ms of it exposed (field 18).
                new StepDone("job-9", 2, 46, 1.5, 0.5, 0, 0, 0, 0, 12.5, 3.75, 25, 0, 6, false, Optional.empty(), 0.5),
                // A regular worker's hello (the first one is a standby's).
                new WorkerHello(worker, "1.2.3", 7, "cuda:1", "10.0.0.5", "chunk-size=65536", false));
    }

    @Test
    void aStepDoneWithoutTheExposedTimeIsAllExposed() throws Exception {
        // A worker from before field 18 sends no exposed time: its all-reduce did not overlap.
        byte[] old = JobFrame.newBuilder().setStepDone(io.troupe.protocol.cluster.StepDone.newBuilder()
                .setJobId("job-9").setRank(1).setStep(3).setAllreduceMs(7.25)).build().toByteArray();
        StepDone d = (StepDone) serializer().fromBinary(old, JobMessageSerializer.MANIFEST);
        assertEquals(7.25, d.allreduceExposedMs(), 0.0);
    }

    private static JobMessage roundTrip(JobMessage m) throws NotSerializableException {
        Serializer serializer = serialization.findSerializerFor(m);
        assertEquals(JobMessageSerializer.class, serializer.getClass(), m.getClass().getSimpleName());
        JobMessageSerializer s = (JobMessageSerializer) serializer;
        return (JobMessage) s.fromBinary(s.toBinary(m), s.manifest(m));
    }

    @Test
    void everyMessageRoundTripsExactly() throws Exception {
        for (JobMessage m : everyMessage()) {
            assertEquals(m, roundTrip(m), m.getClass().getSimpleName());
        }
        StepDone d = (StepDone) roundTrip(everyMessage().get(6));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(d.gradNorm()), "bit-exact doubles");
    }

    @Test
    void theSamplesCoverEveryRecordOfTheProtocol() {
        Set<Class<?>> covered = everyMessage().stream().map(Object::getClass).collect(Collectors.toSet());
        assertEquals(Set.of(JobMessage.class.getPermittedSubclasses()), covered);
    }

    @Test
    void refsResolveToTheSameActor() throws Exception {
        JoinJob back = (JoinJob) roundTrip(everyMessage().get(1));
        assertEquals(coordinator, back.coordinator());
        assertEquals(coordinator.path(), back.coordinator().path());
    }

    @Test
    void absentRefsAndStringsStayAbsent() throws Exception {
        JobReady none = new JobReady("j", 0, true, "", "", 0, -1, null, "", 0);
        assertEquals(none, roundTrip(none));
    }

    private static JobMessageSerializer serializer() {
        return (JobMessageSerializer) serialization.findSerializerFor(new Probe("j", 0));
    }

    @Test
    void aFrameWithNoMessageIsRefusedWithAReason() {
        byte[] empty = JobFrame.getDefaultInstance().toByteArray();
        NotSerializableException e = assertThrows(NotSerializableException.class,
                () -> serializer().fromBinary(empty, JobMessageSerializer.MANIFEST));
        assertTrue(e.getMessage().contains("names no message"), e.getMessage());
        // A case from a newer version arrives as an unknown field: still no case set here.
        byte[] newer = {(byte) 0xfa, 0x01, 0x00}; // field 31, length-delimited, empty
        NotSerializableException later = assertThrows(NotSerializableException.class,
                () -> serializer().fromBinary(newer, JobMessageSerializer.MANIFEST));
        assertTrue(later.getMessage().contains("another Troupe version"), later.getMessage());
    }

    @Test
    void garbageIsRefusedWithAReason() {
        // Field 7 (StepDone) claims 2^31-ish bytes that are not there: the size is not trusted.
        byte[] lying = {0x3a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07, 0x01};
        NotSerializableException e = assertThrows(NotSerializableException.class,
                () -> serializer().fromBinary(lying, JobMessageSerializer.MANIFEST));
        assertTrue(e.getMessage().startsWith("malformed job frame"), e.getMessage());
        assertThrows(NotSerializableException.class,
                () -> serializer().fromBinary(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}, JobMessageSerializer.MANIFEST));
        NotSerializableException manifest = assertThrows(NotSerializableException.class,
                () -> serializer().fromBinary(new byte[0], "StepDone"));
        assertTrue(manifest.getMessage().contains("another Troupe version"), manifest.getMessage());
    }

    @Test
    void aStepDoneWithoutCountsHasNoMaskedAccuracyAndImpossibleCountsAreRefused() throws Exception {
        StepDone gpt = (StepDone) roundTrip(everyMessage().get(6));
        assertEquals(Optional.empty(), gpt.valMasked(), "a GPT's report (or an older worker's) carries no counts");
        byte[] lying = JobFrame.newBuilder().setStepDone(io.troupe.protocol.cluster.StepDone.newBuilder()
                .setJobId("j").setValMaskedCorrect(5).setValMaskedCount(4)).build().toByteArray();
        NotSerializableException e = assertThrows(NotSerializableException.class,
                () -> serializer().fromBinary(lying, JobMessageSerializer.MANIFEST));
        assertTrue(e.getMessage().startsWith("StepDone.val_masked"), e.getMessage());
    }

    @Test
    void aRefThatIsNotAnActorPathIsRefusedNamingTheField() {
        byte[] bad = JobFrame.newBuilder().setLeaveRequest(io.troupe.protocol.cluster.LeaveRequest.newBuilder()
                .setJobId("j").setWorker("not a ref")).build().toByteArray();
        NotSerializableException e = assertThrows(NotSerializableException.class,
                () -> serializer().fromBinary(bad, JobMessageSerializer.MANIFEST));
        assertTrue(e.getMessage().startsWith("LeaveRequest.worker is not an actor ref"), e.getMessage());
    }

    @Test
    void aWireFormatThatDoesNotExistIsRefused() {
        byte[] bad = JobFrame.newBuilder().setJoinJob(io.troupe.protocol.cluster.JoinJob.newBuilder().setWire("fp8"))
                .build().toByteArray();
        NotSerializableException e = assertThrows(NotSerializableException.class,
                () -> serializer().fromBinary(bad, JobMessageSerializer.MANIFEST));
        assertTrue(e.getMessage().startsWith("JoinJob.wire"), e.getMessage());
    }

    @Test
    void onlyJobMessagesAreAccepted() {
        assertThrows(IllegalArgumentException.class, () -> serializer().toBinary("not a job message"));
        assertSame(serializer(), serialization.findSerializerFor(new LeaveRequest("j", worker)));
    }
}
