package io.troupe.ops.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows training progress: a progress bar (step, loss, tokens/s, ETA) on a terminal, plain
 * log lines every {@code logInterval} steps otherwise (CI logs, files, pipes).
 */
final class TrainProgress implements RunProgress {
    private final PrintWriter out;
    private final boolean terminal;
    private final long logInterval;
    private ProgressBar bar;

    TrainProgress(PrintWriter out, boolean terminal, long logInterval) {
        this.out = out;
        this.terminal = terminal;
        this.logInterval = logInterval;
    }

    @Override
    public void onStart(long firstStep, long lastStep, long parameters) {
        out.printf("training %,d parameters, steps %d..%d%n", parameters, firstStep + 1, lastStep);
        out.flush();
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(lastStep).startsFrom(firstStep, java.time.Duration.ZERO)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(250).build();
        }
    }

    @Override
    public void onStep(StepStats s) {
        if (bar != null) {
            bar.stepTo(s.step());
            bar.setExtraMessage(String.format(" loss %.4f  %,.0f tok/s  MFU %.1f%%", s.loss(), s.tokensPerSecond(),
                    100 * s.mfu()));
        } else if (s.step() % logInterval == 0) {
            out.printf("step %d/%d  loss %.4f  lr %.2e  %,.0f tok/s  MFU %.1f%%  %.1f ms%s%n", s.step(), s.lastStep(),
                    s.loss(), s.lr(), s.tokensPerSecond(), 100 * s.mfu(), s.stepMillis(), allreduce(s));
            out.flush();
        }
    }

    /** The all-reduce part of a distributed step's line: total time, and the exposed part of the step. */
    private static String allreduce(StepStats s) {
        if (s.workers() < 2) {
            return "";
        }
        return String.format("  allreduce %.1f ms (exposed %.1f ms, %.1f%% of the step)", s.allreduceMillis(),
                s.allreduceExposedMillis(), 100 * s.allreduceExposedMillis() / s.stepMillis());
    }

    @Override
    public void onMaskedAccuracy(long step, double valAccuracy) {
        printAbove(String.format("step %d: val masked-token accuracy %.4f", step, valAccuracy));
    }

    @Override
    public void onEval(long step, double trainLoss, double valLoss) {
        printAbove(String.format("step %d: train loss %.4f, val loss %.4f", step, trainLoss, valLoss));
    }

    private void printAbove(String line) {
        if (bar != null) {
            // Printed above the bar so the history of evaluations stays on screen.
            bar.pause();
            System.err.print("\r\033[K");
            out.println(line);
            out.flush();
            bar.resume();
        } else {
            out.println(line);
            out.flush();
        }
    }

    @Override
    public void onCheckpoint(long step, Path file) {
        if (bar == null) {
            out.println("checkpoint " + file);
            out.flush();
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
