package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.worker.plane.DataPlane;
import io.troupe.worker.plane.PekkoDataPlane;
import io.troupe.worker.plane.RingLink;
import io.troupe.worker.plane.StateExchange;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.allreduce.RingAdmission;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.engine.Device;
import io.troupe.worker.run.TrainListener;
import java.net.InetSocketAddress;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose own step fails (not the ring: here its all-reduce throws an unexpected
 * error once) is restarted by its supervisor, closes what it held, offers itself again and is
 * taken back into the ring; the job finishes with every sample trained on once.
 */
class WorkerRestartTest {

    @TempDir
    Path dir;

    /** A data plane whose ring link throws a non-ring error in one all-reduce. */
    static final class FailingOnce implements DataPlane {
        final DataPlane real;
        final long failAtStep;
        final AtomicBoolean failed = new AtomicBoolean();
        final AtomicInteger binds = new AtomicInteger();

        FailingOnce(DataPlane real, long failAtStep) {
            this.real = real;
            this.failAtStep = failAtStep;
        }

        @Override
        public String host() {
            return real.host();
        }

        @Override
        public StateExchange stateExchange() throws ReductionException {
            return real.stateExchange();
        }

        @Override
        public RingLink bind(String jobId, int rank, int worldSize, WireFormat wire, RingAdmission admission)
                throws ReductionException {
            binds.incrementAndGet();
            RingLink link = real.bind(jobId, rank, worldSize, wire, admission);
            return new RingLink() {
                @Override
                public InetSocketAddress address() {
                    return link.address();
                }

                @Override
                public void connect(InetSocketAddress successor) throws ReductionException {
                    link.connect(successor);
                }

                @Override
                public void allReduceMean(FloatBuffer gradients, long step) throws ReductionException {
                    if (step == failAtStep && failed.compareAndSet(false, true)) {
                        throw new IllegalStateException("injected failure in step " + step);
                    }
                    link.allReduceMean(gradients, step);
                }

                @Override
                public void close() {
                    link.close();
                }
            };
        }
    }

    @Test
    void aWorkerWhoseStepThrowsIsRestartedAndRejoins() throws Exception {
        Path data = MultiSystemTrainingTest.corpus(dir);
        Path out = dir.resolve("run");
        JobSpec job = MultiSystemTrainingTest.tinyJob(data, out, 2, 500); // long enough to be back before the end
        CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();
        List<FailingOnce> planes = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
        List<Integer> rings = new java.util.concurrent.CopyOnWriteArrayList<>();
        TrainListener counting = new TrainListener() {
            @Override
            public void onWorkerFailure() {
                failures.incrementAndGet();
            }

            @Override
            public void onRingFormed(int workers) {
                rings.add(workers);
            }
        };
        ActorSystem<Guardian.WorkersOf> system = ActorSystem.create(Behaviors.setup(ctx -> {
            List<DataPlane> workers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                FailingOnce plane = new FailingOnce(new PekkoDataPlane(ctx.getSystem(), "127.0.0.1",
                        RingSettings.defaults(), Duration.ofSeconds(30)), i == 1 ? 7 : -1);
                planes.add(plane);
                workers.add(plane);
            }
            return Guardian.create(job, null, counting, outcome::complete,
                    new WorkerSettings(1, Device.cpu(), "test-version"), workers);
        }), ClusterNode.SYSTEM_NAME, ClusterNode.config("127.0.0.1", 0, List.of(NodeRole.COORDINATOR.clusterRole(),
                NodeRole.WORKER.clusterRole())));
        try {
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
            JobOutcome result = outcome.get(120, TimeUnit.SECONDS);
            assertNull(result.failure(), "job failed: " + result.failure());
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        assertTrue(planes.get(1).failed.get(), "the failure was injected");
        assertTrue(planes.get(1).binds.get() >= 2, "the restarted worker bound a new ring link");
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(500, summary.get("steps").asInt());
        assertEquals(2, summary.get("workers").asInt(), "the restarted worker is back in the ring: " + summary);
        assertEquals(3000, summary.get("samples_consumed").asLong(), "500 steps of batch_size 6");
        assertEquals(0, summary.get("samples_duplicated").asLong());
        assertEquals(0, summary.get("samples_lost").asLong());
        assertEquals(2, summary.get("membership_changes").asLong(), "it left the ring and came back: " + summary);

        // What monitoring sees of it: the listener and DIR/events.jsonl.
        assertEquals(1, failures.get(), "one failure reported to the listener");
        assertEquals(2, rings.get(0), "the first ring: " + rings);
        assertEquals(2, rings.get(rings.size() - 1), "the last ring has the worker back: " + rings);
        List<JsonNode> events = new ArrayList<>();
        for (String line : java.nio.file.Files.readAllLines(out.resolve(JobEventLog.FILE))) {
            events.add(new ObjectMapper().readTree(line));
        }
        List<String> kinds = events.stream().map(e -> e.get("event").asText()).toList();
        assertTrue(events.stream().anyMatch(e -> e.get("event").asText().equals("failure")
                && e.get("reason").asText().matches("rank [01] failed step 7: injected failure in step 7")
                && e.get("ranks").size() == 1
                && e.get("reason").asText().startsWith("rank " + e.get("ranks").get(0).asInt() + " ")), events.toString());
        assertTrue(kinds.stream().filter("ring"::equals).count() >= 2, "the ring re-formed: " + kinds);
        assertTrue(kinds.stream().filter("join"::equals).count() >= 3, "the restarted worker joined again: " + kinds);
        assertEquals("job_end", kinds.get(kinds.size() - 1));
    }
}
