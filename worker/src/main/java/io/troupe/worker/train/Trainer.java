package io.troupe.worker.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.graph.DType;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.engine.FlatLayout;
import io.troupe.worker.engine.StepEngine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Trains a GPT on one machine with nanoGPT's recipe: AdamW with warm-up and cosine decay,
 * gradient clipping and accumulation, periodic evaluation, atomic checkpoints with exact
 * resume, and an exported inference model at the end.
 *
 * <p>The parameters live in one flat float array (the optimizer's copy); the step engine
 * reads them from its own direct buffer, refreshed after every update.
 */
public final class Trainer {
    /** Run files in the output directory. */
    public static final String METRICS = "metrics.jsonl";
    public static final String SUMMARY = "summary.json";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String EVAL_TRAIN_RNG = "eval_train_sampler";
    private static final String EVAL_VAL_RNG = "eval_val_sampler";

    private final TrainSettings settings;
    private final Tokenizer tokenizer;
    private final TokenSplit data;
    private final Path outDir;
    private final EngineOptions engineOptions;
    private final GptConfig model;
    private final ParameterLayout layout;

    public Trainer(TrainSettings settings, Tokenizer tokenizer, TokenSplit data, Path outDir, EngineOptions engineOptions) {
        this.settings = settings;
        this.tokenizer = tokenizer;
        this.data = data;
        this.outDir = outDir;
        this.engineOptions = engineOptions;
        this.model = settings.model(tokenizer.vocabSize());
        this.layout = ParameterLayout.of(model);
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
        FlatLayout.Packer packer = FlatLayout.packer();
        for (ParameterLayout.View v : layout.views()) {
            packer.add(v.name(), v.shape());
        }
        return packer.build();
    }

    /** What must match for a checkpoint to be resumed with these settings and this tokenizer. */
    public String resumeIdentity() {
        ObjectNode identity = settings.resumeIdentity(JSON, tokenizer.vocabSize());
        return identity.toString();
    }

    /**
     * Runs training to max_iters.
     *
     * @param resume continue from the newest valid checkpoint in the output directory
     */
    public TrainSummary run(boolean resume, TrainListener listener)
            throws EngineException, CheckpointException, IOException, DataException {
        long wallStart = System.nanoTime();
        int micro = settings.microBatch();
        int t = settings.blockSize();
        TrainingGraph trainGraph = GptGraphs.training(model, micro, t, DType.FLOAT, settings.seed());
        TrainingGraph evalGraph = GptGraphs.evaluation(model, micro, t, DType.FLOAT);
        FlatLayout flat = flatLayout(layout);
        int size = Math.toIntExact(layout.size());

        CheckpointStore store = new CheckpointStore(outDir, settings.keepCheckpoints());
        String identity = resumeIdentity();
        Optional<Checkpoint> restored = resume ? store.latest(identity) : Optional.empty();

        float[] params;
        AdamW adam = new AdamW(size, decayRanges(), new AdamW.Hyperparameters(settings.beta1(), settings.beta2(), 1e-8,
                settings.weightDecay()));
        BatchSampler trainSampler = new BatchSampler(data.train(), micro, t, settings.seed());
        BatchSampler evalTrainSampler = new BatchSampler(data.train(), micro, t, settings.seed() ^ 0x5DEECE66DL);
        BatchSampler evalValSampler = new BatchSampler(data.val(), micro, t, settings.seed() ^ 0xBB67AE8584CAA73BL);
        long startStep = 0;
        double bestVal = Double.POSITIVE_INFINITY;
        if (restored.isPresent()) {
            Checkpoint c = restored.get();
            if (!c.tokenizer().equals(tokenizer.toJson())) {
                throw new CheckpointException("the checkpoint in " + store.directory() + " was trained with another "
                        + "tokenizer (vocabulary); resume with the same data, or start over with --force");
            }
            params = c.parameters();
            adam.importState(new AdamW.State(c.optimizerStep(), c.adamM(), c.adamV()));
            trainSampler.restore(c.samplerState());
            evalTrainSampler.restore(c.extraRngState().get(EVAL_TRAIN_RNG));
            evalValSampler.restore(c.extraRngState().get(EVAL_VAL_RNG));
            startStep = c.trainingStep();
            long[] best = c.extraRngState().get("best_val_loss_bits");
            if (best != null) {
                bestVal = Double.longBitsToDouble(best[0]);
            }
        } else {
            params = ParameterInit.gpt2(model, layout, settings.seed());
        }

        LearningRateSchedule schedule = settings.schedule();
        GradientClipper clipper = new GradientClipper(settings.gradClip());
        GradientAccumulator accumulator = settings.gradAccum() > 1 ? new GradientAccumulator(size) : null;
        float[] grads = new float[size];
        long tokensPerStep = (long) settings.batchSize() * t;
        double lastTrainEval = Double.NaN;
        double lastValEval = Double.NaN;
        double trainSeconds = 0;
        long trainedSteps = 0;

        try (StepEngine train = StepEngine.create(trainGraph.toBytes(), flat, engineOptions);
             StepEngine eval = StepEngine.create(evalGraph.toBytes(), flat, engineOptions);
             MetricsLog metrics = restored.isPresent() ? MetricsLog.resume(outDir, startStep) : MetricsLog.open(outDir)) {
            train.parameters().put(params);
            listener.onStart(startStep, settings.maxIters(), layout.size());
            if (startStep == 0) {
                double[] losses = evaluate(eval, params, evalTrainSampler, evalValSampler);
                lastTrainEval = losses[0];
                lastValEval = losses[1];
                bestVal = Math.min(bestVal, lastValEval);
                metrics.append(MetricsLog.Entry.train(0, losses[0], schedule.at(0), 0).withValLoss(losses[1]));
                listener.onEval(0, losses[0], losses[1]);
            }
            for (long step = startStep + 1; step <= settings.maxIters(); step++) {
                long t0 = System.nanoTime();
                double lr = schedule.at(step - 1);
                double loss = 0;
                for (int m = 0; m < settings.gradAccum(); m++) {
                    trainSampler.next(train.batch(TrainingGraph.TOKENS), train.batch(TrainingGraph.TARGETS));
                    loss += train.step();
                    if (accumulator != null) {
                        accumulator.add(train.gradients());
                    }
                }
                loss /= settings.gradAccum();
                if (!Double.isFinite(loss)) {
                    throw new TrainingDivergedException("training diverged: the loss is " + loss + " at step " + step
                            + "; lower learning_rate or raise warmup_iters");
                }
                float[] stepGrads;
                if (accumulator != null) {
                    stepGrads = accumulator.mean();
                } else {
                    train.gradients().get(grads);
                    stepGrads = grads;
                }
                double norm = clipper.clip(stepGrads);
                adam.update(params, stepGrads, lr);
                train.parameters().put(params);
                double seconds = (System.nanoTime() - t0) / 1e9;
                trainSeconds += seconds;
                trainedSteps++;
                double tokensPerSecond = tokensPerStep / seconds;
                listener.onStep(new TrainListener.StepStats(step, settings.maxIters(), loss, lr, norm, tokensPerSecond,
                        seconds * 1000));

                boolean evalStep = step % settings.evalInterval() == 0 || step == settings.maxIters();
                MetricsLog.Entry entry = MetricsLog.Entry.train(step, loss, lr, tokensPerSecond);
                if (evalStep) {
                    double[] losses = evaluate(eval, params, evalTrainSampler, evalValSampler);
                    lastTrainEval = losses[0];
                    lastValEval = losses[1];
                    bestVal = Math.min(bestVal, lastValEval);
                    entry = entry.withValLoss(lastValEval);
                    listener.onEval(step, losses[0], losses[1]);
                }
                if (evalStep || step % settings.logInterval() == 0) {
                    metrics.append(entry);
                }
                boolean checkpointStep = settings.checkpointInterval() == 0 ? evalStep
                        : step % settings.checkpointInterval() == 0 || step == settings.maxIters();
                if (checkpointStep) {
                    AdamW.State state = adam.exportState();
                    Checkpoint checkpoint = new Checkpoint(identity, params, state.m(), state.v(), state.step(), step,
                            trainSampler.state(),
                            Map.of(EVAL_TRAIN_RNG, evalTrainSampler.state(), EVAL_VAL_RNG, evalValSampler.state(),
                                    "best_val_loss_bits", new long[] {Double.doubleToRawLongBits(bestVal)}),
                            tokenizer.toJson());
                    listener.onCheckpoint(step, store.save(checkpoint));
                }
            }
        }
        if (Double.isNaN(lastValEval)) {
            // Resumed at the last step: nothing was trained, so report the checkpoint's model as it is.
            try (StepEngine eval = StepEngine.create(evalGraph.toBytes(), flat, engineOptions)) {
                double[] losses = evaluate(eval, params, evalTrainSampler, evalValSampler);
                lastTrainEval = losses[0];
                lastValEval = losses[1];
            }
        }

        ModelExport.write(outDir, model, params);
        tokenizer.save(outDir);
        double wall = (System.nanoTime() - wallStart) / 1e9;
        TrainSummary summary = new TrainSummary(settings.maxIters(), lastTrainEval, lastValEval,
                Math.min(bestVal, lastValEval), trainedSteps == 0 ? 0 : trainedSteps * tokensPerStep / trainSeconds,
                wall, layout.size());
        writeSummary(summary);
        return summary;
    }

    private List<AdamW.Range> decayRanges() {
        List<AdamW.Range> ranges = new ArrayList<>();
        for (ParameterLayout.View v : layout.views()) {
            ranges.add(new AdamW.Range(Math.toIntExact(v.offset()), Math.toIntExact(v.length()), v.decay()));
        }
        return ranges;
    }

    /** Mean loss over eval_iters batches of the train split and of the val split. */
    private double[] evaluate(StepEngine eval, float[] params, BatchSampler trainSplit, BatchSampler valSplit)
            throws EngineException {
        eval.parameters().put(params);
        double[] out = new double[2];
        BatchSampler[] samplers = {trainSplit, valSplit};
        for (int s = 0; s < 2; s++) {
            double sum = 0;
            for (int i = 0; i < settings.evalIters(); i++) {
                samplers[s].next(eval.batch(TrainingGraph.TOKENS), eval.batch(TrainingGraph.TARGETS));
                sum += eval.step();
            }
            out[s] = sum / settings.evalIters();
        }
        return out;
    }

    private void writeSummary(TrainSummary s) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("steps", s.steps())
                .put("final_train_loss", s.finalTrainLoss())
                .put("final_val_loss", s.finalValLoss())
                .put("best_val_loss", s.bestValLoss())
                .put("tokens_per_second", s.tokensPerSecond())
                .put("wall_seconds", s.wallSeconds())
                .put("params", s.parameters());
        ObjectNode config = settings.toJson(JSON);
        config.put("vocab_size", tokenizer.vocabSize());
        config.put("tokenizer", tokenizer.type());
        o.set("config", config);
        AtomicFiles.writeString(outDir.resolve(SUMMARY), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
    }
}
