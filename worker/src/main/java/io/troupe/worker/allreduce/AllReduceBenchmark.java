package io.troupe.worker.allreduce;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.troupe.worker.engine.FlatBuffer;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;

/**
 * Times the ring all-reduce of {@code mib} MiB of floats among {@code workers} members in this JVM
 * over loopback TCP, like {@code nccl-tests}' all_reduce_perf: the median over timed iterations
 * after warm-ups, reported as
 * <ul>
 *   <li>algbw = buffer bytes (fp32) / time, the rate a user sees;</li>
 *   <li>busbw = algbw x 2(N-1)/N, the rate each member's link carries in a ring algorithm, which
 *       is comparable across N and with MPI's numbers.</li>
 * </ul>
 * With the bf16 wire format the links carry half the bytes; algbw and busbw are still counted in
 * fp32 bytes, what the caller reduces.
 */
public final class AllReduceBenchmark {

    /** What one measurement found. */
    public record Result(int workers, int mib, WireFormat wire, int iterations, double millis,
                         double algbwGbps, double busbwGbps) {}

    /**
     * The default least time spent warming up, whatever the number of warm-up calls asked for.
     * Measured on 2 cores: the JIT needs about 3 s of all-reduces before a call settles at its
     * steady speed (the first calls of 64 MiB take 6-7x as long), so a shorter warm-up measures
     * the compiler.
     */
    public static final int DEFAULT_WARMUP_SECONDS = 5;
    private static final int MAX_WARMUPS = 2000;

    private AllReduceBenchmark() {}

    /**
     * Forms a ring of {@code workers} members on one ActorSystem configured by {@link DataPlaneConfig},
     * runs at least {@code warmups} untimed all-reduces of {@code mib} MiB and keeps warming up
     * until {@code warmup} has passed, then runs {@code iterations} timed ones and returns the median.
     */
    public static Result run(int workers, int mib, RingSettings settings, int warmups, Duration warmup, int iterations)
            throws RingException, InterruptedException {
        return run(workers, mib, settings, warmups, warmup, iterations, java.util.Optional.empty());
    }

    /** {@link #run(int, int, RingSettings, int, Duration, int)} with the ring over mutual TLS when {@code tls} is given. */
    public static Result run(int workers, int mib, RingSettings settings, int warmups, Duration warmup, int iterations,
                             java.util.Optional<io.troupe.worker.tls.ClusterTls> tls)
            throws RingException, InterruptedException {
        if (workers < 2) {
            throw new IllegalArgumentException("an all-reduce benchmark needs at least 2 workers, got " + workers);
        }
        if (mib < 1 || mib > 1024) {
            throw new IllegalArgumentException("buffer size must be 1..1024 MiB, got " + mib);
        }
        if (warmups < 0 || iterations < 1) {
            throw new IllegalArgumentException("need warmups >= 0 and iterations >= 1");
        }
        long bytes = (long) mib << 20;
        List<FloatBuffer> buffers = buffers(workers, (int) (bytes / Float.BYTES));
        // Generous: a slow machine must not turn a benchmark into a timeout.
        Duration deadline = Duration.ofSeconds(60 + mib);
        // Daemon threads: whatever happens, this ActorSystem never keeps a command-line JVM alive.
        Config config = ConfigFactory.parseString("pekko.loglevel = ERROR\npekko.stdout-loglevel = OFF\npekko.daemonic = on")
                .withFallback(DataPlaneConfig.recommended())
                .withFallback(ConfigFactory.load());
        ActorSystem system = ActorSystem.create("allreduce-bench", config);
        try (LoopbackRing ring = LoopbackRing.start(java.util.Collections.nCopies(workers, system), settings, tls)) {
            long step = 0;
            // Warm up for at least `warmup` as well, however many calls that takes (see DEFAULT_WARMUP_SECONDS).
            long warmupEnd = System.nanoTime() + warmup.toNanos();
            for (int i = 0; i < warmups || (System.nanoTime() < warmupEnd && i < MAX_WARMUPS); i++) {
                ring.allReduceMean(buffers, step++, deadline);
            }
            double[] millis = new double[iterations];
            for (int i = 0; i < iterations; i++) {
                long start = System.nanoTime();
                ring.allReduceMean(buffers, step++, deadline);
                millis[i] = (System.nanoTime() - start) / 1e6;
            }
            double median = io.troupe.worker.stats.Median.of(millis);
            double algbw = bytes / (median / 1e3) / 1e9;
            double busbw = algbw * 2 * (workers - 1) / workers;
            return new Result(workers, mib, settings.wire(), iterations, median, algbw, busbw);
        } finally {
            system.terminate();
            try {
                system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // The process is ending; a slow shutdown changes nothing measured.
            }
        }
    }

    private static List<FloatBuffer> buffers(int workers, int floats) {
        SplittableRandom random = new SplittableRandom(1);
        List<FloatBuffer> buffers = new ArrayList<>();
        for (int r = 0; r < workers; r++) {
            FloatBuffer buffer = FlatBuffer.allocate(floats).floats();
            for (int i = 0; i < floats; i++) {
                buffer.put(i, (float) random.nextDouble(-1, 1));
            }
            buffers.add(buffer);
        }
        return buffers;
    }

}
