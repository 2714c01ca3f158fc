package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.troupe.worker.run.TrainSummary;
import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * The last line of a training run, local or distributed: a sentence, or with {@code --json} an
 * object with {@code event} {@code done} ({@code steps}, {@code train_loss}, {@code val_loss},
 * {@code best_val_loss}, {@code tokens_per_s}, {@code wall_s}, {@code model}) or {@code stopped}
 * ({@code step}, {@code checkpoints}).
 */
final class RunReport {
    private RunReport() {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Done(String event, long steps, double trainLoss, double valLoss, double bestValLoss, double tokensPerS,
                double wallS, String model) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Stopped(String event, long step, String checkpoints) {
    }

    /** A run that reached its last step and exported its model into {@code out}. */
    static void done(TrainSummary s, Path out, PrintWriter stdout, boolean json) {
        Path model = out.resolve("model.onnx");
        if (json) {
            Json.printLine(stdout, new Done("done", s.steps(), s.finalTrainLoss(), s.finalValLoss(), s.bestValLoss(),
                    s.tokensPerSecond(), s.wallSeconds(), model.toString()));
            return;
        }
        stdout.printf("done: %d steps, train loss %.4f, val loss %.4f (best %.4f), %,.0f tokens/s, %.1f s%n",
                s.steps(), s.finalTrainLoss(), s.finalValLoss(), s.bestValLoss(), s.tokensPerSecond(), s.wallSeconds());
        stdout.printf("model: %s%n", model);
        stdout.flush();
    }

    /** A run stopped by a signal at {@code step}, its checkpoint saved in {@code out}. */
    static void stopped(long step, Path out, PrintWriter stdout, boolean json) {
        Path checkpoints = out.resolve("checkpoints");
        if (json) {
            Json.printLine(stdout, new Stopped("stopped", step, checkpoints.toString()));
            return;
        }
        stdout.printf("stopped at step %d; its checkpoint is in %s; continue with the same command and --resume"
                + " (or troupe export --run %s --out DIR for its model)%n", step, checkpoints, out);
        stdout.flush();
    }
}
