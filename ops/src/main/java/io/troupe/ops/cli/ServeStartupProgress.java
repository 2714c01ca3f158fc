package io.troupe.ops.cli;

import io.troupe.ops.serve.StartupListener;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * What {@code troupe serve} prints while it opens its model: on a terminal one progress bar (the
 * phase as its message, ETA by the bar), otherwise a line when each phase starts and ends and a
 * line every {@code lineInterval} while a long one runs, each with the time elapsed and, once a
 * phase has ended, an estimate of the time left (the seconds per byte of graph so far, times
 * the bytes left; see {@link StartupListener}).
 */
final class ServeStartupProgress implements StartupListener, AutoCloseable {
    private final PrintWriter out;
    private final boolean terminal;
    private final Duration lineInterval;
    private final LongSupplier nanos;
    private ScheduledExecutorService ticker;
    private ScheduledFuture<?> stillRunning;
    private ProgressBar bar;
    private long total;
    private long done;
    private long startedNanos;
    private Phase phase;
    private long phaseWeight;
    private long phaseStartedNanos;

    ServeStartupProgress(PrintWriter out, boolean terminal) {
        this(out, terminal, Duration.ofSeconds(10), System::nanoTime);
    }

    /**
     * @param terminal draw a progress bar (on stderr) instead of lines
     * @param lineInterval without a terminal, how often a line says a long phase is still running
     * @param nanos the clock the elapsed times and the estimate are read from
     */
    ServeStartupProgress(PrintWriter out, boolean terminal, Duration lineInterval, LongSupplier nanos) {
        this.out = out;
        this.terminal = terminal;
        this.lineInterval = lineInterval;
        this.nanos = nanos;
    }

    @Override
    public synchronized void onStart(long totalWeight) {
        total = Math.max(1, totalWeight);
        startedNanos = nanos.getAsLong();
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName("serve start-up").setInitialMax(total).setUnit(" MB", 1_000_000)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(250).build();
        } else {
            ticker = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "troupe-serve-startup");
                t.setDaemon(true);
                return t;
            });
        }
    }

    @Override
    public synchronized void onPhaseStart(Phase phase, long weight) {
        this.phase = phase;
        this.phaseWeight = weight;
        this.phaseStartedNanos = nanos.getAsLong();
        if (bar != null) {
            bar.setExtraMessage(" " + phase.label());
            return;
        }
        line(String.format(Locale.ROOT, "serve start-up: %s (%.1f MB)...", phase.label(), weight / 1e6));
        if (ticker != null) {
            long every = Math.max(1, lineInterval.toMillis());
            stillRunning = ticker.scheduleAtFixedRate(this::stillRunning, every, every, TimeUnit.MILLISECONDS);
        }
    }

    private synchronized void stillRunning() {
        if (phase != null) {
            line("serve start-up: still " + phase.label() + ", " + seconds(nanos.getAsLong() - phaseStartedNanos)
                    + " in this step" + estimate());
        }
    }

    @Override
    public synchronized void onPhaseEnd(Phase ended) {
        stopTicking();
        done += phaseWeight;
        long now = nanos.getAsLong();
        if (bar != null) {
            bar.stepTo(Math.min(done, total));
        } else {
            line("serve start-up: " + ended.label() + " took " + seconds(now - phaseStartedNanos) + estimate());
        }
        phase = null;
    }

    @Override
    public synchronized void onDone(boolean ok) {
        stopTicking();
        if (bar != null) {
            if (ok) {
                bar.stepTo(total);
            }
            bar.close();
            bar = null;
        } else if (ok) {
            line("serve start-up: ready in " + seconds(nanos.getAsLong() - startedNanos));
        }
        if (ticker != null) {
            ticker.shutdownNow();
            ticker = null;
        }
    }

    /** ", 40% done, about 3 s left" once a phase ended (the seconds per byte so far times the bytes left); else "". */
    private String estimate() {
        long elapsed = nanos.getAsLong() - startedNanos;
        int share = (int) Math.min(100, 100 * done / total);
        if (done == 0) {
            return "";
        }
        if (done >= total) {
            return ", 100% done";
        }
        long left = (long) ((double) elapsed / done * Math.max(0, total - done));
        return ", " + share + "% done, about " + seconds(left) + " left";
    }

    private void stopTicking() {
        if (stillRunning != null) {
            stillRunning.cancel(false);
            stillRunning = null;
        }
    }

    private void line(String text) {
        out.println(text);
        out.flush();
    }

    private static String seconds(long nanos) {
        double s = nanos / 1e9;
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", (long) s / 60, (long) s % 60)
                : String.format(Locale.ROOT, "%.1f s", s);
    }

    @Override
    public synchronized void close() {
        onDone(false);
    }
}
