package io.troupe.worker.allreduce;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * Pekko settings that suit the data plane, for whoever creates the ActorSystem its members run
 * on: {@code DataPlaneConfig.recommended().withFallback(ConfigFactory.load())}. The ring works
 * with Pekko's defaults too; these make it faster (measured on 2 cores: about a quarter less CPU
 * per all-reduce, see docs/BENCHMARKS.md).
 *
 * <p>They define the dispatcher {@value #DISPATCHER}: when an ActorSystem's config has it, every
 * ring member on that system runs its streams there, and Pekko IO's TCP connection actors run
 * there too. A data plane moves hundreds of MB/s through a handful of actors that pass buffers to
 * each other; on Pekko's default dispatchers (at least 8 threads each, on any machine) those
 * actors hop between many threads, and the context switches and cold caches cost more than the
 * copies. A pool as small as the machine keeps them on a few hot threads.
 */
public final class DataPlaneConfig {

    /** The config path of the data plane's dispatcher. */
    public static final String DISPATCHER = "troupe.allreduce.dispatcher";

    private DataPlaneConfig() {}

    /** The recommended settings: the data-plane dispatcher, and Pekko IO's TCP actors on it. */
    public static Config recommended() {
        return ConfigFactory.parseString(String.join("\n",
                DISPATCHER + " {",
                "  type = Dispatcher",
                "  executor = fork-join-executor",
                // One thread per core, at least 2: the ring's stages only compute and never block.
                "  fork-join-executor { parallelism-min = 2, parallelism-factor = 1.0, parallelism-max = 8 }",
                "  throughput = 5",
                "}",
                "pekko.io.tcp.worker-dispatcher = " + DISPATCHER));
    }

    /** Whether {@code config} defines the data-plane dispatcher. */
    static boolean definesDispatcher(Config config) {
        return config.hasPath(DISPATCHER);
    }
}
