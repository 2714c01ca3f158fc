package io.troupe.worker.run;

import io.troupe.worker.train.AdamW;
import io.troupe.worker.train.Cadence;
import io.troupe.worker.train.LearningRateSchedule;
import io.troupe.worker.train.NonFiniteSteps;
import io.troupe.worker.train.TrainSettings;
import io.troupe.worker.train.TrainingDivergedException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.job.BatchPlan;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.GradientReducer;
import io.troupe.worker.job.ReductionException;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.engine.FlatLayout;
import io.troupe.worker.metrics.ModelFlops;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Trains a GPT on one machine with nanoGPT's recipe: AdamW with warm-up and cosine decay,
 * gradient clipping and accumulation, periodic evaluation, atomic checkpoints with exact
 * resume, and an exported inference model at the end.
 *
 * <p>Local training is a one-worker {@link WorkerJob}: each step runs the distributed step
 * path with the whole global batch as this worker's share (samples {@code [(s-1)B, sB)} of
 * the {@link io.troupe.worker.job.SampleOrder}) and no all-reduce, so a local run and a
 * one-worker cluster compute bit-identical parameters. A step with a non-finite loss or
 * gradient is skipped and counted ({@link NonFiniteSteps}); {@code max_nonfinite_steps} in a
 * row end the run with a {@link TrainingDivergedException}.
 */
public final class Trainer {
    /** Run files in the output directory. */
    public static final String METRICS = "metrics.jsonl";
    public static final String SUMMARY = SummaryFile.NAME;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrainSettings settings;
    private final StartingPoint start;
    private final Map<String, ?> summaryExtra;
    private final Tokenizer tokenizer;
    private final TokenSplit data;
    private final Path outDir;
    private final EngineOptions engineOptions;
    private final GptConfig model;
    private final ParameterLayout layout;
    private volatile boolean stopRequested;
    private volatile long stoppedAt = -1;

    public Trainer(TrainSettings settings, Tokenizer tokenizer, TokenSplit data, Path outDir, EngineOptions engineOptions) {
        this(settings, tokenizer, data, outDir, engineOptions, null, Map.of());
    }

    /**
     * A language-model fine-tuning run: starts from {@code start}'s parameters and trains only
     * its trainable part; exports the whole model.
     *
     * @param start the source model and what trains, or null to train from GPT-2 initialisation
     * @param summaryExtra more top-level values for summary.json (source model, trainable counts)
     */
    public Trainer(TrainSettings settings, Tokenizer tokenizer, TokenSplit data, Path outDir, EngineOptions engineOptions,
                   StartingPoint start, Map<String, ?> summaryExtra) {
        this.start = start;
        this.summaryExtra = Map.copyOf(summaryExtra);
        this.settings = settings;
        this.tokenizer = tokenizer;
        this.data = data;
        this.outDir = outDir;
        this.engineOptions = engineOptions;
        this.model = settings.model(tokenizer.vocabSize());
        this.layout = settings.backbone(tokenizer.vocabSize()).layout();
    }

    /**
     * Asks a running {@link #run} to stop at the end of the current step: it saves a checkpoint
     * there and returns without exporting, so {@code --resume} continues the same loss curve.
     * Safe to call from any thread (e.g. a shutdown hook on Ctrl-C).
     */
    public void requestStop() {
        stopRequested = true;
    }

    /** The step a stopped run saved its checkpoint at, or -1 if it ran to max_iters. */
    public long stoppedAt() {
        return stoppedAt;
    }

    /** The model shape being trained. */
    public GptConfig model() {
        return model;
    }

    /** The parameter layout (one flat buffer). */
    public ParameterLayout layout() {
        return layout;
    }

    /** The engine's view of a model layout: the same names, offsets and shapes. */
    public static FlatLayout flatLayout(ParameterLayout layout) {
        return WorkerJob.flatLayout(layout);
    }

    /** What must match for a checkpoint to be resumed with these settings and this tokenizer. */
    public String resumeIdentity() {
        ObjectNode identity = settings.resumeIdentity(JSON, tokenizer.vocabSize());
        return identity.toString();
    }

    /**
     * Runs training to max_iters (or until {@link #requestStop}): a one-worker
     * {@link WorkerJob}, plus evaluation, metrics, checkpoints and the export.
     *
     * @param resume continue from the newest valid checkpoint in the output directory
     */
    public TrainSummary run(boolean resume, TrainListener listener)
            throws EngineException, CheckpointException, IOException, DataException {
        long wallStart = System.nanoTime();
        CheckpointStore store = new CheckpointStore(outDir, settings.keepCheckpoints());
        String identity = resumeIdentity();
        Optional<Checkpoint> restored = resume ? store.latest(identity) : Optional.empty();
        if (restored.isPresent() && !restored.get().tokenizer().equals(tokenizer.toJson())) {
            throw new CheckpointException("the checkpoint in " + store.directory() + " was trained with another "
                    + "tokenizer (vocabulary); resume with the same data, or start over with --force");
        }
        if (restored.isPresent() && restored.get().trainingStep() > settings.maxIters()) {
            // Otherwise the step-N model would be exported under a summary that says max_iters steps.
            throw new CheckpointException("the newest checkpoint in " + store.directory() + " is at step "
                    + restored.get().trainingStep() + ", past max_iters = " + settings.maxIters()
                    + "; resume with --steps " + restored.get().trainingStep() + " or more");
        }
        BatchPlan plan = BatchPlan.of(settings.batchSize(), settings.gradAccum(), 1, 0);
        LearningRateSchedule schedule = settings.schedule();
        Cadence cadence = Cadence.of(settings);
        long tokensPerStep = (long) settings.batchSize() * settings.blockSize();
        ModelFlops flops = ModelFlops.of(model, settings.batchSize(), settings.blockSize());
        long startStep = 0;
        double bestVal = Double.POSITIVE_INFINITY;
        double lastTrainEval = Double.NaN;
        double lastValEval = Double.NaN;
        double lastMaskedAccuracy = Double.NaN;
        double trainSeconds = 0;
        long trainedSteps = 0;
        long skippedBefore = 0;
        long stepsSkipped = 0;
        long lossScale = -1;
        long lossScaleOverflows = 0;
        String lastGoodCheckpoint = "none (no checkpoint was saved yet; start over)";

        try (WorkerJob job = new WorkerJob(settings, tokenizer, data, plan, engineOptions, GradientReducer.LOCAL,
                restored.orElse(null), start)) {
            if (restored.isPresent()) {
                Checkpoint c = restored.get();
                startStep = c.trainingStep();
                bestVal = job.restoredBestValLoss();
                skippedBefore = job.restoredStepsSkipped();
                lastGoodCheckpoint = "the one of step " + startStep + " in " + store.directory();
            }
            NonFiniteSteps nonFinite = new NonFiniteSteps(settings.maxNonfiniteSteps(), skippedBefore);
            try (MetricsLog metrics = restored.isPresent() ? MetricsLog.resume(outDir, startStep) : MetricsLog.open(outDir)) {
                listener.onStart(startStep, settings.maxIters(), layout.size());
                if (startStep == 0) {
                    double[] losses = job.evaluate();
                    lastTrainEval = losses[0];
                    lastValEval = losses[1];
                    bestVal = Math.min(bestVal, lastValEval);
                    lastMaskedAccuracy = job.lastMaskedAccuracy();
                    metrics.append(MetricsLog.Entry.train(0, losses[0], schedule.at(0), 0).withValLoss(losses[1])
                            .withValMaskedAccuracy(lastMaskedAccuracy));
                    listener.onEval(0, losses[0], losses[1]);
                    reportMaskedAccuracy(listener, 0, lastMaskedAccuracy);
                }
                for (long step = startStep + 1; step <= settings.maxIters(); step++) {
                    long t0 = System.nanoTime();
                    double lr = schedule.at(step - 1);
                    WorkerJob.StepResult result = step(job, step, lr);
                    // An fp16 loss-scale overflow is skipped and counted by the scaler, not as divergence.
                    if (nonFinite.record(result.skipped() && !result.overflow())) {
                        throw new TrainingDivergedException(nonFinite.divergedMessage(step, lastGoodCheckpoint));
                    }
                    double loss = result.loss();
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    trainSeconds += seconds;
                    trainedSteps++;
                    double tokensPerSecond = tokensPerStep / seconds;
                    double mfu = flops.ratio(seconds);
                    listener.onStep(new TrainListener.StepStats(step, settings.maxIters(), loss, lr, result.gradNorm(),
                            tokensPerSecond, seconds * 1000, mfu, 1, 0, 0));

                    boolean evalStep = cadence.evaluates(step);
                    MetricsLog.Entry entry = MetricsLog.Entry.train(step, loss, lr, tokensPerSecond).withMfu(mfu);
                    if (job.lossScaler() != null) {
                        entry = entry.withLossScale(job.lossScaler().scale(), job.lossScaler().overflows());
                    }
                    if (evalStep) {
                        double[] losses = job.evaluate();
                        lastTrainEval = losses[0];
                        lastValEval = losses[1];
                        bestVal = Math.min(bestVal, lastValEval);
                        lastMaskedAccuracy = job.lastMaskedAccuracy();
                        entry = entry.withValLoss(lastValEval).withValMaskedAccuracy(lastMaskedAccuracy);
                        listener.onEval(step, losses[0], losses[1]);
                        reportMaskedAccuracy(listener, step, lastMaskedAccuracy);
                    }
                    if (cadence.logs(step)) {
                        metrics.append(entry);
                    }
                    boolean checkpointStep = cadence.checkpoints(step);
                    if (checkpointStep) {
                        long saveStart = System.nanoTime();
                        // Written here, on the training thread, between steps: the live arrays cannot
                        // change while they are written, so they are not copied (1.5 GB at 124M).
                        Path saved = store.save(job.liveCheckpoint(step, identity, bestVal, nonFinite.skipped()));
                        lastGoodCheckpoint = saved.toString();
                        listener.onCheckpoint(step, saved, (System.nanoTime() - saveStart) / 1e9);
                    }
                    if ((stopRequested || listener.stopRequested()) && step < settings.maxIters()) {
                        if (!checkpointStep) {
                            long saveStart = System.nanoTime();
                            Path saved = store.save(job.liveCheckpoint(step, identity, bestVal, nonFinite.skipped()));
                            listener.onCheckpoint(step, saved, (System.nanoTime() - saveStart) / 1e9);
                        }
                        stoppedAt = step;
                        break;
                    }
                }
            }
            if (stoppedAt >= 0) {
                return new TrainSummary(stoppedAt, lastTrainEval, lastValEval, bestVal,
                        trainedSteps == 0 ? 0 : trainedSteps * tokensPerStep / trainSeconds,
                        (System.nanoTime() - wallStart) / 1e9, layout.size());
            }
            if (Double.isNaN(lastValEval)) {
                // Resumed at the last step: nothing was trained, so report the checkpoint's model as it is.
                double[] losses = job.evaluate();
                lastTrainEval = losses[0];
                lastValEval = losses[1];
                lastMaskedAccuracy = job.lastMaskedAccuracy();
            }
            job.export(outDir);
            if (start != null && start.lora() != null) {
                AdapterFile.write(outDir, start.lora(), start.trainable().layout(), job.parameters());
            }
            stepsSkipped = nonFinite.skipped();
            if (job.lossScaler() != null) {
                lossScale = job.lossScaler().scale();
                lossScaleOverflows = job.lossScaler().overflows();
            }
        }
        tokenizer.save(outDir);
        double wall = (System.nanoTime() - wallStart) / 1e9;
        TrainSummary summary = new TrainSummary(settings.maxIters(), lastTrainEval, lastValEval,
                Math.min(bestVal, lastValEval), trainedSteps == 0 ? 0 : trainedSteps * tokensPerStep / trainSeconds,
                wall, layout.size());
        Map<String, Object> extra = new LinkedHashMap<>(summaryExtra);
        extra.put("steps_skipped", stepsSkipped);
        extra.put("precision", settings.precision().label());
        if (lossScale > 0) {
            extra.put("loss_scale", lossScale);
            extra.put("loss_scale_overflows", lossScaleOverflows);
        }
        if (!Double.isNaN(lastMaskedAccuracy)) {
            extra.put("final_val_masked_accuracy", lastMaskedAccuracy);
        }
        SummaryFile.write(outDir, summary, settings, tokenizer.vocabSize(), tokenizer.type(), 0, extra, data.origin());
        return summary;
    }

    private static void reportMaskedAccuracy(TrainListener listener, long step, double accuracy) {
        if (!Double.isNaN(accuracy)) {
            listener.onMaskedAccuracy(step, accuracy);
        }
    }

    /** Step {@code step} of a one-worker job: the whole global batch, samples [(step-1)B, step*B). */
    private WorkerJob.StepResult step(WorkerJob job, long step, double lr) throws EngineException {
        ElasticShare share = ElasticShare.of(settings.batchSize(), settings.gradAccum(), 1, 0,
                (step - 1) * settings.batchSize());
        try {
            return job.step(step, lr, share);
        } catch (ReductionException e) {
            throw new IllegalStateException("a one-worker job has no peers to fail", e);
        }
    }
}
