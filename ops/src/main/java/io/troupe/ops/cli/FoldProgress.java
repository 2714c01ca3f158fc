package io.troupe.ops.cli;

import io.troupe.worker.run.TrainListener;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Progress of one fold of {@code finetune --folds K}: a line at every evaluation, so that a
 * cross-validation whose folds each take minutes is never silent until its first fold ends.
 * Text: {@code fold 1/10 step 50/1500: train loss 0.6931, eval loss 0.6902}; with {@code --json}
 * an {@code {"event":"eval","fold":1,"folds":10,"step":50,...}} line. The eval loss is the
 * loss on the examples that choose the kept parameters under {@code --early-stop}, and on the
 * fold's held-out part otherwise (where nothing is chosen by it).
 */
final class FoldProgress implements TrainListener {
    private final PrintWriter out;
    private final boolean json;
    private final int fold;
    private final int folds;
    private long lastStep;

    /**
     * @param out where the lines go
     * @param json JSON lines instead of text
     * @param fold this fold, 1-based
     * @param folds K
     */
    FoldProgress(PrintWriter out, boolean json, int fold, int folds) {
        this.out = out;
        this.json = json;
        this.fold = fold;
        this.folds = folds;
    }

    @Override
    public void onStart(long firstStep, long lastStep, long parameters) {
        this.lastStep = lastStep;
    }

    @Override
    public void onEval(long step, double trainLoss, double valLoss) {
        if (json) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("event", "eval");
            line.put("fold", fold);
            line.put("folds", folds);
            line.put("step", step);
            line.put("train_loss", trainLoss);
            line.put("val_loss", valLoss);
            Json.printLine(out, line);
        } else {
            out.printf("fold %d/%d step %d/%d: train loss %.4f, eval loss %.4f%n", fold, folds, step, lastStep,
                    trainLoss, valLoss);
            out.flush();
        }
    }
}
