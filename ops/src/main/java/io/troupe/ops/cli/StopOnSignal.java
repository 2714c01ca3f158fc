package io.troupe.ops.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C (SIGINT) or SIGTERM during a long run: a shutdown hook asks the run to stop at its next
 * step boundary (where it checkpoints) and holds the JVM's exit until the run is over, for at
 * most {@link #GRACE}. Closing this object says the run is over, its results and messages are
 * out, and the JVM may exit; it also removes the hook.
 */
final class StopOnSignal implements AutoCloseable {

    /** How long a signal waits for the run to reach a step boundary and write its checkpoint. */
    static final Duration GRACE = Duration.ofMinutes(2);

    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook;

    private StopOnSignal(Runnable requestStop) {
        this.hook = new Thread(() -> {
            requestStop.run();
            try {
                finished.await(GRACE.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "troupe-stop");
    }

    /** Installs the hook; {@code requestStop} must return at once (the run stops on its own thread). */
    static StopOnSignal install(Runnable requestStop) {
        StopOnSignal stop = new StopOnSignal(requestStop);
        Runtime.getRuntime().addShutdownHook(stop.hook);
        return stop;
    }

    @Override
    public void close() {
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The JVM is already exiting on a signal; the hook is running and now returns.
        }
    }
}
