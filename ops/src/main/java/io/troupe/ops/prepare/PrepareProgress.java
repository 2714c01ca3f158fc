package io.troupe.ops.prepare;

import io.troupe.data.prepare.PrepareListener;
import java.io.PrintWriter;
import java.text.DecimalFormat;
import java.time.Duration;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows a prepare run's progress: on a terminal, one progress bar per phase with MB/s,
 * documents/s and ETA; otherwise (CI logs, pipes, Kubernetes logs) one line when each phase starts
 * and ends, and one every {@code lineInterval} in between with the share done, MB/s and ETA.
 */
public final class PrepareProgress implements PrepareListener, AutoCloseable {

    private final PrintWriter out;
    private final boolean terminal;
    private final long lineIntervalNanos;
    private ProgressBar bar;
    private long phaseStart;
    private long phaseTotal;
    private long lastLine;
    private long lastBytes;
    private long lastDocuments;

    /**
     * @param out where plain progress lines go
     * @param terminal draw progress bars (on stderr) instead of lines
     */
    public PrepareProgress(PrintWriter out, boolean terminal) {
        this(out, terminal, Duration.ofSeconds(10));
    }

    /**
     * @param out where plain progress lines go
     * @param terminal draw progress bars (on stderr) instead of lines
     * @param lineInterval without a terminal, the least time between two progress lines of a phase
     */
    public PrepareProgress(PrintWriter out, boolean terminal, Duration lineInterval) {
        this.out = out;
        this.terminal = terminal;
        this.lineIntervalNanos = lineInterval.toNanos();
    }

    @Override
    public void onPhaseStart(Phase phase, long totalBytes) {
        close();
        phaseStart = System.nanoTime();
        lastLine = phaseStart;
        phaseTotal = totalBytes;
        lastBytes = 0;
        lastDocuments = 0;
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName(phase.label()).setInitialMax(Math.max(1, totalBytes))
                    .setUnit(" MB", 1_000_000).showSpeed(new DecimalFormat("0.0"))
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(250).build();
        } else {
            out.printf("%s: %,.1f MB%n", phase.label(), totalBytes / 1e6);
            out.flush();
        }
    }

    @Override
    public void onProgress(Phase phase, long bytes, long documents) {
        lastBytes = bytes;
        lastDocuments = documents;
        if (bar != null) {
            bar.stepTo(bytes);
            double seconds = Math.max(1e-9, (System.nanoTime() - phaseStart) / 1e9);
            bar.setExtraMessage(documents > 0 ? String.format(" %,.0f docs/s", documents / seconds) : "");
            return;
        }
        long now = System.nanoTime();
        if (now - lastLine >= lineIntervalNanos) {
            lastLine = now;
            out.println(progressLine(phase, bytes, now));
            out.flush();
        }
    }

    /** "clean: 42% of 120.0 MB, 12.5 MB/s, ETA 0:00:05". */
    private String progressLine(Phase phase, long bytes, long now) {
        double seconds = Math.max(1e-9, (now - phaseStart) / 1e9);
        double rate = bytes / seconds; // bytes/s
        String eta = rate > 0 && phaseTotal > bytes ? clock((long) ((phaseTotal - bytes) / rate)) : "-";
        double share = phaseTotal > 0 ? 100.0 * bytes / phaseTotal : 0;
        return String.format("%s: %.0f%% of %,.1f MB, %.1f MB/s, ETA %s", phase.label(), share, phaseTotal / 1e6,
                rate / 1e6, eta);
    }

    private static String clock(long seconds) {
        return String.format("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
    }

    @Override
    public void onPhaseEnd(Phase phase) {
        double seconds = Math.max(1e-9, (System.nanoTime() - phaseStart) / 1e9);
        close();
        out.printf("%s: done in %.1f s, %.1f MB/s%s%n", phase.label(), seconds, lastBytes / 1e6 / seconds,
                lastDocuments > 0 ? String.format(", %,.0f docs/s", lastDocuments / seconds) : "");
        out.flush();
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
