package io.troupe.ops.prepare;

import io.troupe.data.prepare.PrepareListener;
import java.io.PrintWriter;
import java.text.DecimalFormat;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows a prepare run's progress: on a terminal, one progress bar per phase with MB/s and
 * documents/s; otherwise (CI logs, pipes) one line when each phase starts and ends.
 */
public final class PrepareProgress implements PrepareListener, AutoCloseable {

    private final PrintWriter out;
    private final boolean terminal;
    private ProgressBar bar;
    private long phaseStart;
    private long lastBytes;
    private long lastDocuments;

    /**
     * @param out where plain progress lines go
     * @param terminal draw progress bars (on stderr) instead of lines
     */
    public PrepareProgress(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public void onPhaseStart(Phase phase, long totalBytes) {
        close();
        phaseStart = System.nanoTime();
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
        }
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
