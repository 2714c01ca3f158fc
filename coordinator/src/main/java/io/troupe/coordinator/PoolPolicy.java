package io.troupe.coordinator;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Decides which job of a shared worker pool a worker serves, when one long training job and a
 * study's trials run on the same workers ({@code troupe.pool} in config). Pure decisions from
 * what each job holds and wants; the {@link WorkerPool} actor carries them out, a move of a
 * worker between jobs always being an elastic leave of one job and a join of the other.
 *
 * <ul>
 *   <li>An idle worker goes to the job of the highest priority that wants more workers and whose
 *       kind is under its quota (oldest job first among equals).</li>
 *   <li>A job that has wanted a worker for {@code lend-wait} (so no idle worker came by) takes one
 *       from a job of lower priority that holds more than its minimum: a <em>lend</em>. With
 *       {@code lend-after-checkpoint} a training job lends only right after a checkpoint.</li>
 * </ul>
 * A worker lent to a trial comes back without any rule of its own: when the trial ends its
 * workers are idle, and the training job, still wanting workers, is the one they go to.
 */
public final class PoolPolicy {

    /** What a job is to the pool. */
    public enum Kind {
        TRAINING("training"), TRIAL("trials");

        private final String configKey;

        Kind(String configKey) {
            this.configKey = configKey;
        }

        /** The key of its block under {@code troupe.pool}. */
        public String configKey() {
            return configKey;
        }
    }

    /**
     * What config gives one kind of job.
     *
     * @param priority higher wins an idle worker and may take one from a lower priority
     * @param minWorkers a job of this kind never lends below this many workers
     * @param quota the most workers all jobs of this kind hold together
     */
    public record Share(int priority, int minWorkers, int quota) {
        public Share {
            if (minWorkers < 0 || quota < 1) {
                throw new IllegalArgumentException("troupe.pool: need min-workers >= 0 and quota >= 1, got "
                        + minWorkers + " and " + quota);
            }
        }
    }

    /**
     * The pool's settings.
     *
     * @param lendWait how long a job waits for an idle worker before it takes one from a lower priority
     *     (idle workers say hello every second, so a wait above that means none is idle)
     * @param lendAfterCheckpoint a training job lends a worker only at the first step boundary after a checkpoint
     */
    public record Settings(Share training, Share trials, Duration lendWait, boolean lendAfterCheckpoint) {
        /** The share of a kind. */
        public Share of(Kind kind) {
            return kind == Kind.TRAINING ? training : trials;
        }

        /** {@code troupe.pool} from config. */
        public static Settings fromConfig(Config config) {
            Config c = config.getConfig("troupe.pool");
            return new Settings(share(c.getConfig("training")), share(c.getConfig("trials")),
                    c.getDuration("lend-wait"), c.getBoolean("lend-after-checkpoint"));
        }

        private static Share share(Config c) {
            return new Share(c.getInt("priority"), c.getInt("min-workers"), c.getInt("quota"));
        }
    }

    /**
     * A job as the policy sees it.
     *
     * @param wants how many workers it would take (its max-workers)
     * @param holds how many workers are assigned to it (including one lent to it and not yet arrived)
     * @param minWorkers it lends no worker below this many (its own elastic minimum or its kind's, the larger)
     * @param order when it asked, for ties (smaller is older)
     * @param starved it has wanted a worker for at least the lend wait
     * @param mayLend it is at a point where it may lend (always, or right after a checkpoint)
     */
    public record Job(String id, Kind kind, int wants, int holds, int minWorkers, long order, boolean starved,
                      boolean mayLend) {
    }

    /** Move one worker of {@code from} to {@code to}. */
    public record Lend(Job from, Job to) {
    }

    private final Settings settings;

    public PoolPolicy(Settings settings) {
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    /** The job an idle worker should go to, if any wants one. */
    public Optional<Job> placeIdle(List<Job> jobs) {
        return jobs.stream().filter(j -> hasRoom(j, jobs)).min(byPriorityThenAge());
    }

    /**
     * A worker to move from a lower-priority job to a starved one, if any: the starved job of the
     * highest priority, taking from the job of the lowest priority (the newest among equals) that
     * holds more than its minimum and may lend now.
     */
    public Optional<Lend> lend(List<Job> jobs) {
        Optional<Job> needy = jobs.stream().filter(j -> j.starved() && hasRoom(j, jobs)).min(byPriorityThenAge());
        if (needy.isEmpty()) {
            return Optional.empty();
        }
        int neededPriority = priority(needy.get());
        return jobs.stream()
                .filter(j -> priority(j) < neededPriority && j.mayLend() && j.holds() > j.minWorkers())
                .min(Comparator.comparingInt(this::priority).thenComparing(Comparator.comparingLong(Job::order).reversed()))
                .map(from -> new Lend(from, needy.get()));
    }

    /** The minimum a job of {@code kind} with an elastic minimum of {@code jobMinimum} keeps. */
    public int minimumOf(Kind kind, int jobMinimum) {
        return Math.max(jobMinimum, settings.of(kind).minWorkers());
    }

    private boolean hasRoom(Job job, List<Job> jobs) {
        int ofKind = jobs.stream().filter(j -> j.kind() == job.kind()).mapToInt(Job::holds).sum();
        return job.holds() < job.wants() && ofKind < settings.of(job.kind()).quota();
    }

    private int priority(Job job) {
        return settings.of(job.kind()).priority();
    }

    private Comparator<Job> byPriorityThenAge() {
        return Comparator.comparingInt((Job j) -> -priority(j)).thenComparingLong(Job::order);
    }
}
