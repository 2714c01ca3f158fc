package io.troupe.worker.transfer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.troupe.worker.allreduce.DataPlaneConfig;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointCodec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.junit.jupiter.api.Test;

/**
 * Times fetching a 100 MB training state over loopback: the median of 7 fetches after 3
 * warm-ups, on Pekko's default settings and on {@link DataPlaneConfig#recommended()}. Not a test
 * (its name keeps it out of the default run, and it asserts nothing about time); run it with
 * {@code ./mvnw -o -pl worker test -Dtest=StateTransferBenchmark}. It prints its numbers.
 */
class StateTransferBenchmark {

    /** 100 MB of state: parameters and two AdamW moments, 12 bytes per parameter. */
    private static final int PARAMS = 100_000_000 / 12;
    private static final int WARMUPS = 3;
    private static final int RUNS = 7;

    @Test
    void fetch100MegabytesOverLoopback() throws Exception {
        Random random = new Random(1);
        float[] p = new float[PARAMS];
        for (int i = 0; i < PARAMS; i++) {
            p[i] = (float) random.nextGaussian();
        }
        Checkpoint state = new Checkpoint("{}", p, p.clone(), p.clone(), 1, 1, new long[] {1},
                Map.of(), "{}");
        long encodeStart = System.nanoTime();
        byte[] encoded = CheckpointCodec.encode(state);
        double encodeMillis = (System.nanoTime() - encodeStart) / 1e6;
        System.out.printf(Locale.ROOT, "state %d bytes; encode %.0f ms%n", encoded.length,
                encodeMillis);
        measure("pekko defaults", ConfigFactory.load(), encoded, state);
        measure("DataPlaneConfig.recommended()",
                DataPlaneConfig.recommended().withFallback(ConfigFactory.load()), encoded, state);
    }

    private static void measure(String name, Config config, byte[] encoded, Checkpoint state)
            throws Exception {
        ActorSystem system = ActorSystem.create("state-transfer-bench",
                ConfigFactory.parseString("pekko.loglevel = ERROR").withFallback(config));
        try (StateServer server = StateServer.bind(system,
                new InetSocketAddress("127.0.0.1", 0), "bench")) {
            server.offer("bench", 1, encoded);
            server.admit("bench-token");
            double[] millis = new double[RUNS];
            for (int i = -WARMUPS; i < RUNS; i++) {
                long start = System.nanoTime();
                Checkpoint fetched = StateClient.fetch(system, server.address(), "bench", "bench-token", 1,
                        Duration.ofMinutes(2));
                double elapsed = (System.nanoTime() - start) / 1e6;
                if (i >= 0) {
                    millis[i] = elapsed;
                } else {
                    assertEquals(state, fetched); // checked untimed: comparing 100 MB is not fetching
                }
            }
            Arrays.sort(millis);
            double median = millis[RUNS / 2];
            System.out.printf(Locale.ROOT, "%s: fetch median %.0f ms (min %.0f, max %.0f) ="
                    + " %.0f MB/s%n", name, median, millis[0], millis[RUNS - 1],
                    encoded.length / 1e3 / median);
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
