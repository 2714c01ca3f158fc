package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * Training progress as JSON lines on stdout ({@code --json}), one object per event, each with an
 * {@code event} field naming its kind (see {@link RunReport} for the last line):
 *
 * <ul>
 *   <li>{@code start}: {@code first_step} (0, or the resumed step), {@code last_step}, {@code parameters};</li>
 *   <li>{@code step}, every log_interval steps and at the last: {@code step}, {@code last_step},
 *       {@code loss}, {@code lr}, {@code grad_norm}, {@code tokens_per_s}, {@code mfu} (model FLOPs utilisation, 0..1),
 *       {@code step_ms};</li>
 *   <li>{@code eval}: {@code step}, {@code train_loss}, {@code val_loss} (means over eval_iters batches);</li>
 *   <li>{@code checkpoint}: {@code step}, {@code file}.</li>
 * </ul>
 */
final class JsonTrainProgress implements RunProgress {
    private final PrintWriter out;
    private final long logInterval;

    JsonTrainProgress(PrintWriter out, long logInterval) {
        this.out = out;
        this.logInterval = logInterval;
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Start(String event, long firstStep, long lastStep, long parameters) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Step(String event, long step, long lastStep, double loss, double lr, double gradNorm, double tokensPerS,
                double mfu, double stepMs) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Eval(String event, long step, double trainLoss, double valLoss) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Checkpoint(String event, long step, String file) {
    }

    @Override
    public void onStart(long firstStep, long lastStep, long parameters) {
        print(new Start("start", firstStep, lastStep, parameters));
    }

    @Override
    public void onStep(StepStats s) {
        if (s.step() % logInterval == 0 || s.step() == s.lastStep()) {
            print(new Step("step", s.step(), s.lastStep(), s.loss(), s.lr(), s.gradNorm(), s.tokensPerSecond(),
                    s.mfu(), s.stepMillis()));
        }
    }

    @Override
    public void onEval(long step, double trainLoss, double valLoss) {
        print(new Eval("eval", step, trainLoss, valLoss));
    }

    @Override
    public void onCheckpoint(long step, Path file) {
        print(new Checkpoint("checkpoint", step, file.toString()));
    }

    // Workers of an embedded cluster report from their own threads; a line is never interleaved.
    private synchronized void print(Object record) {
        Json.printLine(out, record);
    }

    @Override
    public void close() {
    }
}
