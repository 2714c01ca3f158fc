package io.troupe.ops.cli;

import io.troupe.coordinator.JobSpec;
import io.troupe.data.pairs.PairDataset;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.engine.Device;
import io.troupe.worker.finetune.FinetuneJob;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.seq2seq.PairRows;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import io.troupe.worker.seq2seq.Seq2SeqRun;
import io.troupe.worker.train.TrainSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * An encoder-decoder trained by N workers in this process ({@code train-seq2seq --workers N},
 * {@code finetune --from SEQ2SEQ_DIR --workers N}): the starting parameters are written into
 * {@code OUT/start.safetensors} (every worker starts from those bits, checked by hash), the job
 * names the pairs dataset by path and manifest SHA-256, the embedded coordinator and workers run
 * the one step path as {@code train --workers N} does, and rank 0 exports the model directory
 * into {@code OUT}, which is also the run directory (metrics.jsonl, summary.json, events.jsonl).
 */
final class Seq2SeqCluster {
    /** What the command prints at the end, as the local run's result. */
    record Outcome(double trainLoss, double valLoss, double msPerStep, double paddingFraction) {
    }

    private Seq2SeqCluster() {
    }

    /**
     * Trains {@code cfg} from {@code start} on {@code workers} embedded workers, printing a line per
     * evaluation (and per step with {@code stepTimes}) to {@code err} as the local run does.
     */
    static Outcome train(Seq2SeqConfig cfg, PairDataset dataset, Path data, TrainSettings settings, float[] start,
                         Path out, int workers, int threadsPerWorker, boolean stepTimes, PrintWriter err)
            throws IOException {
        Files.createDirectories(out);
        long perEpoch;
        double padding;
        try (PairRows rows = new PairRows(cfg, dataset, settings.batchSize(), settings.evalIters(), settings.seed())) {
            perEpoch = rows.samplesPerEpoch();
            padding = Seq2SeqRun.paddingFraction(rows, settings.batchSize(), settings.maxIters());
        }
        String sha = FinetuneJob.writeStart(out, Seq2SeqRun.start(cfg, start));
        FinetuneJob job = FinetuneJob.translate(out.resolve(FinetuneJob.START_FILE).toAbsolutePath().toString(), sha,
                cfg, perEpoch);
        JobSpec spec = DistributedJobs.spec(settings, dataset.tokenizer(), data,
                FinetuneJob.sha256(data.resolve(PairDataset.MANIFEST)), out, workers, workers, workers,
                WireFormat.FP32, null).finetuning(job);
        Progress progress = new Progress(settings.maxIters(), stepTimes, err);
        DistributedFinetune.run(spec, threadsPerWorker, new Device.Cpu(), progress);
        if (!Seq2SeqModelDir.isSeq2Seq(out)) {
            throw UserError.cluster("the workers finished but rank 0 wrote no model into " + out);
        }
        // The coordinator's summary describes the job settings, whose model fields are a GPT's: name the
        // architecture and the seq2seq config, and write the card again from that.
        DistributedFinetune.addToSummary(out, java.util.Map.of("arch", "seq2seq", "seq2seq", cfg));
        io.troupe.worker.card.ModelCard.write(out);
        return new Outcome(progress.trainLoss, progress.valLoss, progress.millis / Math.max(1, progress.steps),
                padding);
    }

    /** Prints the local run's lines from the coordinator's events. */
    private static final class Progress implements TrainListener {
        private final long lastStep;
        private final boolean stepTimes;
        private final PrintWriter err;
        private long steps;
        private double millis;
        // As the local run prints: the mean training loss of the steps since the last evaluation.
        private double lossSum;
        private int lossCount;
        private double trainLoss = Double.NaN;
        private double valLoss = Double.NaN;

        Progress(long lastStep, boolean stepTimes, PrintWriter err) {
            this.lastStep = lastStep;
            this.stepTimes = stepTimes;
            this.err = err;
        }

        @Override
        public void onStep(StepStats stats) {
            steps++;
            millis += stats.stepMillis();
            if (Double.isFinite(stats.loss())) {
                lossSum += stats.loss();
                lossCount++;
            }
            if (stepTimes) {
                err.println(String.format(Locale.ROOT, "step-time %d: %.3f ms, %d workers", stats.step(),
                        stats.stepMillis(), stats.workers()));
                err.flush();
            }
        }

        @Override
        public void onEval(long step, double evalTrainLoss, double val) {
            trainLoss = lossSum / Math.max(1, lossCount);
            valLoss = val;
            lossSum = 0;
            lossCount = 0;
            err.println(String.format("step %d/%d: train loss %.4f, val loss %.4f (ppl %.2f), %.0f ms/step", step,
                    lastStep, trainLoss, valLoss, Math.exp(valLoss), millis / Math.max(1, steps)));
            err.flush();
        }
    }
}
