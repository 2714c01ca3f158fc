package io.troupe.coordinator;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Arrays;

/**
 * How long the coordinator waits for a step before it calls the step stalled and re-forms the
 * ring without the ranks that did not report (the step is then retried with the same samples).
 * The deadline adapts to the measured step time: {@code factor} times the median of the recent
 * routine steps, at least {@code floor}, at most {@code step-timeout}. A worker that is frozen
 * but still heartbeating (so the failure detector never fires) or a wedged all-reduce then costs
 * seconds instead of the fixed two minutes; a slow but healthy job is never cut, since its own
 * steps set the deadline.
 *
 * <p>Until {@link #WARM_UP} routine steps have been measured (the first steps build sessions and
 * warm the JIT), and for steps that evaluate or write a checkpoint (their length depends on
 * {@code eval_iters} and the disk, not on the step), the deadline is {@code step-timeout}.
 */
final class StepDeadline {
    /** Routine steps measured before the deadline adapts. */
    static final int WARM_UP = 5;
    /** How many recent routine steps the median is taken over. */
    static final int WINDOW = 32;

    private final double factor;
    private final Duration floor;
    private final Duration cap;
    private final long[] recentNanos = new long[WINDOW];
    private long measured;

    /**
     * @param factor how many typical steps a step may take
     * @param floor the shortest deadline
     * @param cap the longest deadline (the configured {@code step-timeout})
     */
    StepDeadline(double factor, Duration floor, Duration cap) {
        if (!(factor >= 1) || floor.isNegative() || cap.compareTo(floor) < 0) {
            throw new IllegalArgumentException("troupe.cluster.step-deadline needs factor >= 1 and 0 <= floor <= "
                    + "step-timeout, got factor " + factor + ", floor " + floor + ", step-timeout " + cap);
        }
        this.factor = factor;
        this.floor = floor;
        this.cap = cap;
    }

    /** The deadline configured under {@code troupe.cluster.step-deadline}, capped by {@code stepTimeout}. */
    static StepDeadline from(Config config, Duration stepTimeout) {
        Duration floor = config.getDuration("troupe.cluster.step-deadline.floor");
        return new StepDeadline(config.getDouble("troupe.cluster.step-deadline.factor"),
                floor.compareTo(stepTimeout) > 0 ? stepTimeout : floor, stepTimeout);
    }

    /** Records how long a routine step took, from its start to its commit. */
    void record(Duration took) {
        recentNanos[(int) (measured % WINDOW)] = took.toNanos();
        measured++;
    }

    /** The deadline of the next step; {@code routine} is false for a step that evaluates or checkpoints. */
    Duration next(boolean routine) {
        if (!routine || measured < WARM_UP) {
            return cap;
        }
        Duration adapted = Duration.ofNanos((long) Math.min(Long.MAX_VALUE, factor * typical().toNanos()));
        return adapted.compareTo(floor) < 0 ? floor : adapted.compareTo(cap) > 0 ? cap : adapted;
    }

    /** The median of the recent routine steps (zero before any). */
    Duration typical() {
        int n = (int) Math.min(measured, WINDOW);
        if (n == 0) {
            return Duration.ZERO;
        }
        long[] sorted = Arrays.copyOf(recentNanos, n);
        Arrays.sort(sorted);
        return Duration.ofNanos(sorted[n / 2]);
    }

    /** Says how a deadline was set, for the message of a step that missed it. */
    String explain(Duration deadline) {
        if (deadline.equals(cap)) {
            return String.format("%.1f s (step-timeout)", cap.toMillis() / 1000.0);
        }
        return String.format("%.1f s (the step deadline: %.0fx the typical step of %.3f s, at least %.1f s)",
                deadline.toMillis() / 1000.0, factor, typical().toNanos() / 1e9, floor.toMillis() / 1000.0);
    }
}
