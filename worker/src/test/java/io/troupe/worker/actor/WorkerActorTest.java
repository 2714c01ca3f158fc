package io.troupe.worker.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.worker.allreduce.RingAdmission;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.engine.Device;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.job.protocol.ConnectRing;
import io.troupe.worker.job.protocol.FinishJob;
import io.troupe.worker.job.protocol.FormRing;
import io.troupe.worker.job.protocol.JobFinished;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.job.protocol.JobReady;
import io.troupe.worker.job.protocol.JoinJob;
import io.troupe.worker.job.protocol.Probe;
import io.troupe.worker.job.protocol.ProbeReply;
import io.troupe.worker.job.protocol.RingReady;
import io.troupe.worker.job.protocol.RunStep;
import io.troupe.worker.job.protocol.StepDone;
import io.troupe.worker.job.protocol.StepFailed;
import io.troupe.worker.job.protocol.WorkerHello;
import io.troupe.worker.plane.DataPlane;
import io.troupe.worker.plane.PekkoDataPlane;
import io.troupe.worker.plane.RingLink;
import io.troupe.worker.plane.StateExchange;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.train.TrainSettings;
import java.net.InetSocketAddress;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker actor against a test probe playing the coordinator, with a tiny model and a data
 * plane whose preparation and all-reduce the test holds and releases: messages that arrive
 * early wait for the prepared job, a finish waits for the running step, and a step that fails
 * on this worker is reported and restarts the actor, while a broken ring does not.
 */
class WorkerActorTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String JOB = "job-1";

    @TempDir
    Path dir;

    private ActorTestKit testKit;
    private TestProbe<JobMessage> coordinator;
    private HeldPlane plane;

    /**
     * The real state exchange and, for rings of two, a link that does not talk to anyone: its
     * all-reduce leaves the gradient as it is (a peer with the same gradient), but waits for
     * the test and can be made to throw.
     */
    private static final class HeldPlane implements DataPlane {
        final DataPlane real;
        final CountDownLatch prepare = new CountDownLatch(1);
        final CountDownLatch reducing = new CountDownLatch(1);
        volatile CountDownLatch reduce = new CountDownLatch(0);
        volatile Supplier<Exception> failure;
        final AtomicBoolean reduceRunning = new AtomicBoolean();
        final AtomicBoolean closedUnderReduce = new AtomicBoolean();
        final AtomicInteger linksClosed = new AtomicInteger();
        final AtomicInteger offers = new AtomicInteger();

        HeldPlane(DataPlane real) {
            this.real = real;
        }

        @Override
        public String host() {
            return "127.0.0.1";
        }

        @Override
        public StateExchange stateExchange() throws ReductionException {
            try {
                prepare.await(); // a job is prepared only once the test lets it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ReductionException("interrupted", e);
            }
            StateExchange exchange = real.stateExchange();
            return new StateExchange() { // the real one, counting the states offered
                @Override
                public InetSocketAddress address() {
                    return exchange.address();
                }

                @Override
                public void offer(String jobId, long step, io.troupe.worker.checkpoint.Checkpoint state) {
                    offers.incrementAndGet();
                    exchange.offer(jobId, step, state);
                }

                @Override
                public void admit(String token) {
                    exchange.admit(token);
                }

                @Override
                public io.troupe.worker.checkpoint.Checkpoint fetch(InetSocketAddress from, String jobId, String token,
                        long step, String identity, long parameters) throws Exception {
                    return exchange.fetch(from, jobId, token, step, identity, parameters);
                }

                @Override
                public void close() {
                    exchange.close();
                }
            };
        }

        @Override
        public RingLink bind(String jobId, int rank, int worldSize, WireFormat wire, RingAdmission admission) {
            return new RingLink() {
                /** Like a real link: closing it fails a running all-reduce at once. */
                private volatile boolean closed;

                @Override
                public InetSocketAddress address() {
                    return new InetSocketAddress("127.0.0.1", 4000 + rank);
                }

                @Override
                public void connect(InetSocketAddress successor) {
                }

                @Override
                public void allReduceMean(FloatBuffer gradients, long step) throws ReductionException {
                    reduceRunning.set(true);
                    try {
                        reducing.countDown();
                        while (!reduce.await(10, TimeUnit.MILLISECONDS)) {
                            if (closed) {
                                throw new ReductionException("ring member rank " + rank + " was closed");
                            }
                        }
                        Supplier<Exception> fail = failure;
                        if (fail != null) {
                            Exception e = fail.get();
                            if (e instanceof ReductionException r) {
                                throw r;
                            }
                            throw (RuntimeException) e;
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new ReductionException("interrupted", e);
                    } finally {
                        reduceRunning.set(false);
                    }
                }

                @Override
                public void close() {
                    closed = true;
                    if (reduceRunning.get()) {
                        closedUnderReduce.set(true);
                    }
                    linksClosed.incrementAndGet();
                }
            };
        }
    }

    @BeforeEach
    void start() {
        testKit = ActorTestKit.create();
        coordinator = testKit.createTestProbe(JobMessage.class);
        testKit.system().receptionist().tell(Receptionist.register(ServiceKeys.COORDINATORS, coordinator.ref()));
        plane = new HeldPlane(new PekkoDataPlane(testKit.system(), "127.0.0.1", RingSettings.defaults(),
                Duration.ofSeconds(30)));
    }

    @AfterEach
    void stop() {
        plane.prepare.countDown();
        plane.reduce.countDown();
        testKit.shutdownTestKit();
    }

    private ActorRef<JobMessage> spawnWorker() {
        testKit.spawn(Behaviors.supervise(WorkerActor.create(new WorkerSettings(1, Device.cpu(), "test"), plane))
                .onFailure(SupervisorStrategy.restart()));
        return next(WorkerHello.class).worker();
    }

    /** The next message of {@code type} from the worker, past the hellos it repeats until it has a job. */
    private <T extends JobMessage> T next(Class<T> type) {
        return next(type, WAIT);
    }

    private <T extends JobMessage> T next(Class<T> type, Duration wait) {
        List<JobMessage> seen = coordinator.fishForMessage(wait, m -> type.isInstance(m) ? FishingOutcomes.complete()
                : m instanceof WorkerHello ? FishingOutcomes.continueAndIgnore()
                : FishingOutcomes.fail("expected a " + type.getSimpleName() + ", got " + m));
        return type.cast(seen.get(seen.size() - 1));
    }

    private JoinJob join(String jobId, int worldSize) throws Exception {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            text.append("the quick brown fox jumps over the lazy dog ").append(i % 7).append('\n');
        }
        Path data = dir.resolve("corpus.txt");
        Files.writeString(data, text);
        TrainSettings settings = TrainSettings.load(null, Map.of("n_layer", "1", "n_head", "2", "n_embd", "16",
                "block_size", "16", "batch_size", "4", "max_iters", "8", "eval_iters", "2", "warmup_iters", "2",
                "lr_decay_iters", "8"));
        return new JoinJob(coordinator.ref(), jobId, 0, worldSize, JobSettings.toJson(settings),
                CharTokenizer.fromText(text.toString()).toJson(), data.toString(),
                JobSettings.sha256(text.toString()), 0, 0, 4, dir.resolve("run").toString(), WireFormat.FP32, true);
    }

    /** Step {@code step} of generation {@code generation}: rank 0's share of a global batch of 4. */
    private static RunStep step(long step, long generation, int worldSize) {
        int rows = 4 / worldSize;
        return new RunStep(JOB, step, 1e-3, false, false, true, generation, (step - 1) * 4, rows, rows, 1, worldSize,
                4);
    }

    /**
     * Sends a JoinJob for another job and waits for its refusal: answered at once in every
     * state, it proves that everything sent before it has been taken in.
     */
    private void sync(ActorRef<JobMessage> worker) {
        worker.tell(new JoinJob(coordinator.ref(), "other-job", 0, 1, "{}", "{}", "", "", 0, 0, 4, "", null, true));
        JobReady refused = next(JobReady.class);
        assertEquals("other-job", refused.jobId());
        assertFalse(refused.ok());
    }

    /** A prepared worker in a ring of {@code worldSize} at generation 1, rank 0. */
    private ActorRef<JobMessage> inRing(int worldSize) throws Exception {
        plane.prepare.countDown();
        ActorRef<JobMessage> worker = spawnWorker();
        worker.tell(join(JOB, worldSize));
        assertTrue(next(JobReady.class).ok(), "prepared");
        worker.tell(new Probe(JOB, 1));
        assertEquals(0, next(ProbeReply.class).step());
        worker.tell(new FormRing(JOB, 1, 0, worldSize, "", 0, 0));
        assertTrue(next(JobReady.class).ok(), "bound");
        worker.tell(new ConnectRing(JOB, "127.0.0.1", 4001, 1));
        assertTrue(next(RingReady.class).ok(), "linked");
        return worker;
    }

    @Test
    void messagesThatArriveWhileTheJobIsPreparedWaitForIt() throws Exception {
        ActorRef<JobMessage> worker = spawnWorker();
        worker.tell(join(JOB, 1));
        // The whole way into a ring and a step, sent while the data and engines are still being built.
        worker.tell(new Probe(JOB, 1));
        worker.tell(new FormRing(JOB, 1, 0, 1, "", 0, 0));
        worker.tell(new ConnectRing(JOB, "127.0.0.1", 0, 1));
        worker.tell(step(1, 1, 1));
        sync(worker);
        plane.prepare.countDown();

        JobReady prepared = next(JobReady.class);
        assertTrue(prepared.ok(), prepared.error());
        assertEquals(-1, prepared.generation(), "the answer to the JoinJob");
        assertTrue(prepared.statePort() > 0, "it serves its state");
        ProbeReply probed = next(ProbeReply.class);
        assertEquals(1, probed.generation());
        assertEquals(0, probed.step());
        JobReady bound = next(JobReady.class);
        assertTrue(bound.ok(), bound.error());
        assertEquals(1, bound.generation());
        assertTrue(next(RingReady.class).ok());
        StepDone done = next(StepDone.class);
        assertEquals(1, done.step());
        assertTrue(Double.isFinite(done.loss()) && done.loss() > 0, "a real loss: " + done.loss());
        assertTrue(done.paramChecksum() != 0, "a checksum was asked for");

        worker.tell(step(2, 1, 1));
        assertEquals(2, next(StepDone.class).step());
        worker.tell(step(4, 1, 1));
        StepFailed skipped = next(StepFailed.class);
        assertTrue(skipped.error().contains("applied 2 steps"), skipped.error());
    }

    @Test
    void aProbeReEncodesTheOfferedStateOnlyWhenItChangedAndAStandbyOffersItWhilePreparing() throws Exception {
        plane.prepare.countDown();
        testKit.spawn(WorkerActor.create(new WorkerSettings(1, Device.cpu(), "test", true), plane));
        WorkerHello hello = next(WorkerHello.class);
        assertTrue(hello.standby(), "a standby says so");
        ActorRef<JobMessage> worker = hello.worker();
        worker.tell(join(JOB, 1));
        assertTrue(next(JobReady.class).ok(), "prepared");
        assertEquals(1, plane.offers.get(), "a standby offers its state while it waits");
        worker.tell(new Probe(JOB, 1));
        assertEquals(0, next(ProbeReply.class).step());
        worker.tell(new Probe(JOB, 2));
        assertEquals(0, next(ProbeReply.class).step());
        assertEquals(1, plane.offers.get(), "probes of an unchanged state answer from the offer in place");
        worker.tell(new FormRing(JOB, 2, 0, 1, "", 0, 0));
        assertTrue(next(JobReady.class).ok(), "bound");
        worker.tell(new ConnectRing(JOB, "127.0.0.1", 0, 2));
        assertTrue(next(RingReady.class).ok(), "linked");
        worker.tell(step(1, 2, 1));
        assertEquals(1, next(StepDone.class).step());
        worker.tell(new Probe(JOB, 3));
        assertEquals(1, next(ProbeReply.class).step());
        assertEquals(2, plane.offers.get(), "after a step the probe offers the new state");
    }

    @Test
    void aFinishThatArrivesDuringAStepWaitsForIt() throws Exception {
        ActorRef<JobMessage> worker = inRing(2);
        plane.reduce = new CountDownLatch(1);
        worker.tell(step(1, 1, 2));
        assertTrue(plane.reducing.await(60, TimeUnit.SECONDS), "the step reached its all-reduce");
        worker.tell(new FinishJob(JOB, false));
        sync(worker);
        assertEquals(0, plane.linksClosed.get(), "nothing is closed while the step runs");
        plane.reduce.countDown();

        assertEquals(1, next(StepDone.class).step(), "the step ends first");
        JobFinished finished = next(JobFinished.class);
        assertEquals(JOB, finished.jobId());
        assertEquals("", finished.error());
        assertFalse(plane.closedUnderReduce.get(), "the ring link was not closed under the step");
        assertEquals(1, plane.linksClosed.get(), "the finish closed the link");
        // Free again: it offers itself to the coordinator.
        next(WorkerHello.class);
    }

    @Test
    void aStepThatFailsOnThisWorkerIsReportedAndTheActorRestarts() throws Exception {
        ActorRef<JobMessage> worker = inRing(2);
        plane.failure = () -> new IllegalStateException("injected engine failure");
        worker.tell(step(1, 1, 2));
        StepFailed failed = next(StepFailed.class);
        assertEquals(1, failed.step());
        assertTrue(failed.error().contains("injected engine failure"), failed.error());
        assertTrue(failed.suspectRank().isEmpty(), "no peer is to blame");
        // Restarted by its supervisor: it closed what it held and offers itself again.
        ActorRef<JobMessage> restarted = next(WorkerHello.class).worker();
        assertEquals(1, plane.linksClosed.get(), "the ring link was closed on restart");
        plane.failure = null;
        restarted.tell(join(JOB, 1));
        assertTrue(next(JobReady.class).ok(), "the fresh actor prepares the job again");
    }

    @Test
    void aBrokenRingIsReportedWithoutARestart() throws Exception {
        ActorRef<JobMessage> worker = inRing(2);
        plane.failure = () -> new ReductionException("rank 1 closed the connection");
        worker.tell(step(1, 1, 2));
        StepFailed failed = next(StepFailed.class);
        assertTrue(failed.error().contains("rank 1 closed the connection"), failed.error());
        // Still the same actor in the same job: it answers the next probe, at step 0.
        worker.tell(new Probe(JOB, 2));
        ProbeReply probed = next(ProbeReply.class);
        assertEquals(2, probed.generation());
        assertEquals(0, probed.step());
        assertEquals(1, plane.linksClosed.get(), "the probe closed the broken ring's link");
    }

    /**
     * A peer froze (SIGSTOP, a long GC pause) in the middle of a step: this healthy worker waits
     * in the all-reduce. The coordinator's probe for a new ring must be answered at once, not
     * after the step's deadline, or the coordinator releases this worker too.
     */
    @Test
    void aProbeDuringAStepBlockedInTheAllReduceEndsTheRingAndIsAnsweredAtOnce() throws Exception {
        ActorRef<JobMessage> worker = inRing(2);
        plane.reduce = new CountDownLatch(1); // the frozen peer never sends its share
        worker.tell(step(1, 1, 2));
        assertTrue(plane.reducing.await(60, TimeUnit.SECONDS), "the step reached its all-reduce");
        worker.tell(new Probe(JOB, 2));

        StepFailed failed = next(StepFailed.class, Duration.ofSeconds(5));
        assertEquals(1, failed.step());
        assertTrue(failed.error().contains("was closed"), failed.error());
        ProbeReply probed = next(ProbeReply.class, Duration.ofSeconds(5));
        assertEquals(2, probed.generation());
        assertEquals(0, probed.step(), "the interrupted step was not applied");
        assertTrue(plane.closedUnderReduce.get(), "the probe ended the blocked all-reduce");
        // The same actor, not a restarted one: it takes a rank in the next ring.
        worker.tell(new FormRing(JOB, 2, 0, 1, "", 0, 0));
        assertTrue(next(JobReady.class).ok(), "bound in the new ring");
    }
}
