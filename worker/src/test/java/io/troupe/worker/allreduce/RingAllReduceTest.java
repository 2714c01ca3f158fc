package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertTrue;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rings of 1 to 5 members over loopback TCP in this JVM, against the exact mean. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RingAllReduceTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);
    private static ActorSystem system;

    @BeforeAll
    static void startSystem() {
        system = ActorSystem.create("ring-test", ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stopSystem() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "N={0}")
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void averagesAwkwardSizesExactlyInFp32(int worldSize) throws Exception {
        // 4 KiB chunks: many chunks per segment, so the pipeline and the short last chunk are exercised.
        RingSettings settings = RingSettings.defaults().withChunkBytes(4096);
        try (LoopbackRing ring = LoopbackRing.start(system, worldSize, settings)) {
            long step = 0;
            for (int length : new int[] {1, Math.max(worldSize - 1, 0), worldSize + 1, 4099, 1_000_003, 0}) {
                checkStep(ring, WireFormat.FP32, length, step++);
            }
        }
    }

    @ParameterizedTest(name = "N={0}")
    @ValueSource(ints = {2, 3, 5})
    void averagesInBf16WithinItsRounding(int worldSize) throws Exception {
        RingSettings settings = RingSettings.defaults().withWire(WireFormat.BF16).withChunkBytes(8192);
        try (LoopbackRing ring = LoopbackRing.start(system, worldSize, settings)) {
            long step = 100;
            for (int length : new int[] {worldSize - 1, 3, 1_000_003}) {
                checkStep(ring, WireFormat.BF16, length, step++);
            }
        }
    }

    @Test
    void runsManyStepsOnOneRing() throws Exception {
        try (LoopbackRing ring = LoopbackRing.start(system, 3, RingSettings.defaults().withChunkBytes(16 * 1024))) {
            for (long step = 0; step < 20; step++) {
                checkStep(ring, WireFormat.FP32, 50_001, step);
            }
        }
    }

    @Test
    void stepsStartNoThreads() throws Exception {
        // Regression: a callback on the future pekko returns per step ran on the JDK's default
        // executor, which on machines of two cores or fewer (CI's) starts a thread per call.
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        try (LoopbackRing ring = LoopbackRing.start(system, 2, RingSettings.defaults())) {
            checkStep(ring, WireFormat.FP32, 1000, 0); // the dispatcher's threads start here
            long before = threads.getTotalStartedThreadCount();
            int steps = 20;
            for (long step = 1; step <= steps; step++) {
                checkStep(ring, WireFormat.FP32, 1000, step);
            }
            long started = threads.getTotalStartedThreadCount() - before;
            assertTrue(started < steps / 2, started + " threads started for " + steps + " steps of 2 members");
        }
    }

    @Test
    void reducesBetweenPositionAndLimitOnly() throws Exception {
        try (LoopbackRing ring = LoopbackRing.start(system, 2, RingSettings.defaults())) {
            List<FloatBuffer> buffers = RingBuffers.random(2, 100, 9);
            List<Float> outside = outside(buffers);
            for (FloatBuffer buffer : buffers) {
                buffer.position(10).limit(90);
            }
            double[] expected = RingBuffers.exactMean(buffers);
            ring.allReduceMean(buffers, 1, DEADLINE);
            RingBuffers.assertMean(buffers, expected, WireFormat.FP32, "sub-range");
            assertEquals(10, buffers.get(0).position());
            assertEquals(90, buffers.get(0).limit());
            assertEquals(outside, outside(buffers));
        }
    }

    private static List<Float> outside(List<FloatBuffer> buffers) {
        List<Float> values = new ArrayList<>();
        for (FloatBuffer buffer : buffers) {
            FloatBuffer whole = buffer.duplicate().clear();
            values.addAll(List.of(whole.get(0), whole.get(9), whole.get(90), whole.get(99)));
        }
        return values;
    }

    @Test
    void worksWithOneActorSystemPerMember() throws Exception {
        List<ActorSystem> systems = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            systems.add(ActorSystem.create("ring-member-" + r, ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load())));
        }
        try (LoopbackRing ring = LoopbackRing.start(systems, RingSettings.defaults().withChunkBytes(64 * 1024))) {
            checkStep(ring, WireFormat.FP32, 300_007, 1);
            checkStep(ring, WireFormat.FP32, 2, 2);
        } finally {
            for (ActorSystem member : systems) {
                member.terminate();
            }
        }
    }

    /**
     * A 2-member ring of 250,000 floats: each member sends 2 * (N-1)/N * 1 MB = 1 MB. At 8 Mbit/s
     * (1 MB/s) that takes at least ~0.75 s once the quarter-second burst is spent; unlimited it
     * takes milliseconds. Only the lower bound is asserted (a loaded machine is only slower), and
     * the mean must still be exact. WireBytes counts what was sent.
     */
    @Test
    void aWireLimitSlowsTheSendsToItsRateAndCountsTheBytes() throws Exception {
        long before = WireBytes.sent();
        try (LoopbackRing ring = LoopbackRing.start(system, 2, RingSettings.defaults().withWireLimitMbps(8))) {
            long t0 = System.nanoTime();
            checkStep(ring, WireFormat.FP32, 250_000, 1);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(seconds >= 0.6, "1 MB per member at 1 MB/s took only " + seconds + " s");
        }
        long sent = WireBytes.sent() - before;
        assertTrue(sent >= 2_000_000 && sent < 2_100_000, "2 members x 1 MB plus frame headers, got " + sent);
    }

    private static void checkStep(LoopbackRing ring, WireFormat wire, int length, long step) throws Exception {
        List<FloatBuffer> buffers = RingBuffers.random(ring.worldSize(), length, 31 * step + length);
        double[] expected = RingBuffers.exactMean(buffers);
        ring.allReduceMean(buffers, step, DEADLINE);
        RingBuffers.assertMean(buffers, expected, wire, "N=" + ring.worldSize() + " length=" + length + " step=" + step);
    }
}
