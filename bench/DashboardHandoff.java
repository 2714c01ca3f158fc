import io.troupe.ops.dashboard.DashboardState;
import io.troupe.worker.run.TrainListener.StepStats;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the dashboard costs the training thread per step: the time of {@link DashboardState#onStep}
 * (the only dashboard code on the step path), measured in a loop, with and without a reader
 * building the stream's messages concurrently (a page open: one {@code next} per READER_MS,
 * default 1000 ms as in `troupe train --dashboard`; a smaller value stresses the lock).
 *
 * <p>Run from the worktree root with the fat jar on the class path (Java's single-file launch):
 * {@code java -cp ops/target/troupe.jar bench/DashboardHandoff.java [CALLS=5000000] [READER_MS=1000]}.
 * Prints ns per call for each case; bench/dashboard-cost.sh multiplies it by the run's steps.
 */
public final class DashboardHandoff {
    public static void main(String[] args) throws Exception {
        long calls = args.length > 0 ? Long.parseLong(args[0]) : 5_000_000L;
        long readerMillis = args.length > 1 ? Long.parseLong(args[1]) : 1000L;
        // Warm-up (JIT), then the measured rounds; the best of 5 rounds per case, as a steady figure.
        measure(calls / 5, 0, false);
        double alone = Double.MAX_VALUE;
        double withReader = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            alone = Math.min(alone, measure(calls, 0, false));
            withReader = Math.min(withReader, measure(calls, readerMillis, true));
        }
        System.out.printf("handoff_ns_per_step_no_reader %.1f%n", alone);
        System.out.printf("handoff_ns_per_step_with_reader %.1f%n", withReader);
    }

    /** ns per onStep over {@code calls} steps, with a reader thread calling next() every readerMillis when asked. */
    private static double measure(long calls, long readerMillis, boolean reader) throws InterruptedException {
        DashboardState state = new DashboardState(Path.of("/nonexistent/events.jsonl"), Clock.systemUTC());
        state.onStart(0, calls, 800_000);
        AtomicBoolean running = new AtomicBoolean(true);
        Thread t = null;
        if (reader) {
            DashboardState.Cursor cursor = state.cursor();
            t = new Thread(() -> {
                while (running.get()) {
                    state.next(cursor);
                    try {
                        Thread.sleep(readerMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }
        long start = System.nanoTime();
        for (long i = 1; i <= calls; i++) {
            state.onStep(new StepStats(i, calls, 2.0 + 1.0 / i, 1e-3, 1.0, 30_000.0, 27.0, 0.01, 1, 0.0, 0L));
        }
        long elapsed = System.nanoTime() - start;
        running.set(false);
        if (t != null) {
            t.interrupt();
            t.join();
        }
        return (double) elapsed / calls;
    }
}
