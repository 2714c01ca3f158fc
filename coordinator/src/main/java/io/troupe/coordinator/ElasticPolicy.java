package io.troupe.coordinator;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How a job copes with changing membership.
 *
 * @param minWorkers below this many workers the job pauses (it does not fail) until more join
 * @param maxWorkers the ring never takes more; later workers wait in reserve for a failure
 * @param probeTimeout how long a re-forming ring waits for a worker to report its state
 *     before leaving it out (it may join again later); a floor, raised to twice the slowest
 *     recent step
 * @param formTimeout how long binding, syncing and connecting a new ring may take
 *
 * <p>How many non-finite steps in a row a job survives is a training setting
 * ({@code max_nonfinite_steps}), the same for local and distributed runs.
 */
public record ElasticPolicy(int minWorkers, int maxWorkers, Duration probeTimeout, Duration formTimeout) {
    public ElasticPolicy {
        if (minWorkers < 1 || maxWorkers < minWorkers) {
            throw new IllegalArgumentException("need 1 <= --min-workers <= --max-workers, got " + minWorkers + " and "
                    + maxWorkers);
        }
    }

    /** The policy of {@code troupe.cluster.elastic} with the given worker bounds. */
    public static ElasticPolicy fromConfig(Config config, int minWorkers, int maxWorkers) {
        Config c = config.getConfig("troupe.cluster.elastic");
        return new ElasticPolicy(minWorkers, maxWorkers, c.getDuration("probe-timeout"), c.getDuration("form-timeout"));
    }

    /** Defaults for a job of {@code workers} workers: it goes on down to one worker and back up to {@code workers}. */
    public static ElasticPolicy defaults(int workers) {
        return new ElasticPolicy(1, workers, Duration.ofSeconds(1), Duration.ofSeconds(60));
    }
}
