package io.troupe.worker.finetune;

import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.model.graph.DType;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.engine.StepEngine;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.AdamW;
import io.troupe.worker.train.GradientClipper;
import io.troupe.worker.train.LearningRateScales;
import io.troupe.worker.train.LearningRateSchedule;
import io.troupe.worker.train.NonFiniteSteps;
import io.troupe.worker.train.TrainSettings;
import io.troupe.worker.train.TrainingDivergedException;
import io.troupe.worker.train.Xoshiro256StarStar;
import java.nio.LongBuffer;

/**
 * Fine-tunes a GPT with a classification head on labelled examples, on this machine: the
 * training recipe of {@link TrainSettings} (AdamW with warm-up and cosine decay, clipping,
 * weight decay on 2-D weights, the non-finite step rule), over batches of right-padded examples
 * drawn epoch by epoch in a seeded shuffled order.
 *
 * <p>Only the trainable parameters live in the engine's and the optimizer's buffers (see
 * {@link io.troupe.model.gpt.Trainable}): a linear probe updates K*(C+1) floats per step.
 */
public final class ClassifierTrainer {
    private final TrainSettings settings;
    private final Backbone config;
    private final ClassifierHead head;
    private final StartingPoint start;
    private final EngineOptions engineOptions;
    private final boolean keepBest;
    private final ValidationObjective objective;

    /**
     * @param config the body's shape, with the dropout to train with
     * @param start the whole classifier's initial values (layout {@link ClassifierGraphs#layout}) and what trains
     */
    public ClassifierTrainer(TrainSettings settings, Backbone config, ClassifierHead head, StartingPoint start,
                             EngineOptions engineOptions) {
        if (start.trainable().full().size() != ClassifierGraphs.layout(config, head, start.lora()).size()) {
            throw new IllegalArgumentException("the starting point is not a classifier of this shape");
        }
        this.settings = settings;
        this.config = config;
        this.head = head;
        this.start = start;
        this.engineOptions = engineOptions;
        this.keepBest = false;
        this.objective = ValidationObjective.LOSS;
    }

    /**
     * This trainer, keeping the parameters of the evaluation with the best validation accuracy
     * (ties: the lower validation loss) instead of the last step's: early stopping, by
     * selection. The validation examples then choose the model, so a run that reports accuracy
     * must report it on a third set (the {@code test} of {@link #run(EncodedExamples,
     * EncodedExamples, EncodedExamples, TrainListener)}).
     */
    public ClassifierTrainer keepingBest() {
        return new ClassifierTrainer(settings, config, head, start, engineOptions, true, objective);
    }

    /**
     * This trainer, passing {@code objective} of every evaluation to its listener's
     * {@code onEval} as the validation value instead of the loss (a study minimises it, e.g. the
     * error rate 1 - accuracy).
     */
    public ClassifierTrainer reporting(ValidationObjective objective) {
        return new ClassifierTrainer(settings, config, head, start, engineOptions, keepBest, objective);
    }

    private ClassifierTrainer(TrainSettings settings, Backbone config, ClassifierHead head, StartingPoint start,
                              EngineOptions engineOptions, boolean keepBest, ValidationObjective objective) {
        this.settings = settings;
        this.config = config;
        this.head = head;
        this.start = start;
        this.engineOptions = engineOptions;
        this.keepBest = keepBest;
        this.objective = objective;
    }

    /** The value an evaluation reports to the listener, from the validation predictions and loss. */
    @FunctionalInterface
    public interface ValidationObjective {
        /** The mean validation cross-entropy (the default). */
        ValidationObjective LOSS = (predicted, gold, loss) -> loss;
        /** The validation error rate, 1 - accuracy. */
        ValidationObjective ERROR_RATE = (predicted, gold, loss) -> 1 - accuracy(predicted, gold);

        double of(int[] predicted, EncodedExamples gold, double loss);
    }

    /**
     * The outcome of a run.
     *
     * @param fullParameters every parameter after training, adapters included (layout {@code start.trainable().full()})
     * @param trainableParameters the trained part alone (layout {@code start.trainable().layout()})
     * @param finalTrainLoss mean training loss over the steps since the last evaluation
     * @param valLoss mean loss on the validation examples (NaN without them)
     * @param valPredicted the predicted class of each validation example (empty without them)
     * @param stepMillis mean milliseconds per optimizer step
     * @param stepsSkipped steps whose loss or gradient was not finite
     * @param keptStep the step whose parameters these are: the last, or with {@link #keepingBest()} the best
     *     evaluation's
     * @param testLoss mean loss on the test examples (NaN without them)
     * @param testPredicted the predicted class of each test example (empty without them)
     * @param lastStep the last step trained: max_iters, or earlier when the listener asked to stop
     */
    public record Result(float[] fullParameters, float[] trainableParameters, double finalTrainLoss, double valLoss,
                         int[] valPredicted, double stepMillis, long stepsSkipped, long keptStep, double testLoss,
                         int[] testPredicted, long lastStep) {
    }

    /** The sequence length the graphs use for these examples: the longest, capped at block_size. */
    public int seqLen(EncodedExamples train, EncodedExamples val) {
        int longest = Math.max(train.maxLength(), val == null ? 1 : val.maxLength());
        return Math.min(config.blockSize(), longest);
    }

    /** {@link #run(EncodedExamples, EncodedExamples, EncodedExamples, TrainListener)} without a test set. */
    public Result run(EncodedExamples train, EncodedExamples val, TrainListener listener) throws EngineException {
        return run(train, val, null, listener);
    }

    /**
     * Trains for max_iters steps.
     *
     * @param val examples scored at every eval_interval and at the end, or null
     * @param test examples scored once, with the parameters kept, or null
     * @throws TrainingDivergedException after max_nonfinite_steps non-finite steps in a row
     */
    public Result run(EncodedExamples train, EncodedExamples val, EncodedExamples test, TrainListener listener)
            throws EngineException {
        if (keepBest && val == null) {
            throw new IllegalArgumentException("keeping the best evaluation needs validation examples");
        }
        int t = Math.max(seqLen(train, val), test == null ? 1 : Math.min(config.blockSize(), test.maxLength()));
        int batch = Math.min(settings.batchSize(), train.size());
        ParameterLayout trainableLayout = start.trainable().layout();
        TrainingGraph graph = ClassifierGraphs.training(config, head, batch, t, DType.FLOAT, settings.seed(),
                start.trainable(), start.fullParameters(), start.lora());
        float[] params = start.trainable().extract(start.fullParameters());
        float[] grads = new float[params.length];
        AdamW adam = new AdamW(params.length, LearningRateScales.of(settings).ranges(trainableLayout),
                new AdamW.Hyperparameters(settings.beta1(), settings.beta2(), 1e-8, settings.weightDecay()));
        GradientClipper clipper = new GradientClipper(settings.gradClip());
        LearningRateSchedule schedule = settings.schedule();
        NonFiniteSteps nonFinite = NonFiniteSteps.of(settings);
        ExampleOrder order = new ExampleOrder(train.size(), settings.seed());
        double lossSinceEval = 0;
        int stepsSinceEval = 0;
        double lastTrainLoss = Double.NaN;
        double valLoss = Double.NaN;
        int[] valPredicted = new int[0];
        double stepNanos = 0;
        long steps = settings.maxIters();
        Best best = null;
        long lastStep = steps;
        try (StepEngine engine = StepEngine.create(graph.toBytes(), WorkerJob.flatLayout(trainableLayout), engineOptions);
             ClassifierScorer scorer = val == null && test == null ? null : new ClassifierScorer(
                     ClassifierGraphs.evaluation(config.withDropout(0), head, t, DType.FLOAT, start.trainable(),
                             start.fullParameters(), start.lora()), head.classes(), engineOptions.intraOpThreads())) {
            listener.onStart(0, steps, start.trainable().full().size());
            engine.parameterBuffer().copyFrom(params);
            for (long step = 1; step <= steps; step++) {
                long t0 = System.nanoTime();
                double lr = schedule.at(step - 1);
                int[] rows = order.next(batch);
                LongBuffer idx = engine.batch(TrainingGraph.TOKENS);
                LongBuffer lengths = engine.batch(ClassifierGraphs.LENGTHS);
                LongBuffer labels = engine.batch(ClassifierGraphs.LABELS);
                train.fill(rows, 0, batch, t, idx, lengths, labels);
                double loss = engine.step();
                engine.gradientBuffer().copyTo(grads);
                double norm = Double.isFinite(loss) ? clipper.clip(grads) : Double.NaN;
                boolean skipped = !Double.isFinite(norm);
                if (!skipped) {
                    adam.update(params, grads, lr);
                    engine.parameterBuffer().copyFrom(params);
                    lossSinceEval += loss;
                    stepsSinceEval++;
                }
                if (nonFinite.record(skipped)) {
                    throw new TrainingDivergedException(nonFinite.divergedMessage(step, "none (fine-tuning keeps no"
                            + " checkpoints; lower the learning rate and run again)"));
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                stepNanos += seconds * 1e9;
                listener.onStep(new TrainListener.StepStats(step, steps, loss, lr, norm,
                        (double) batch * t / seconds, seconds * 1000));
                if (step % settings.evalInterval() == 0 || step == steps) {
                    lastTrainLoss = stepsSinceEval == 0 ? Double.NaN : lossSinceEval / stepsSinceEval;
                    lossSinceEval = 0;
                    stepsSinceEval = 0;
                    if (val != null) {
                        ClassifierScorer.Scores s = scorer.score(params, val);
                        valLoss = s.loss();
                        valPredicted = s.predicted();
                        Best now = new Best(step, accuracy(s.predicted(), val), s.loss(), s.predicted(), params);
                        if (keepBest && now.betterThan(best)) {
                            best = now.copy();
                        }
                    }
                    listener.onEval(step, lastTrainLoss, val == null ? valLoss
                            : objective.of(valPredicted, val, valLoss));
                }
                if (listener.stopRequested()) {
                    lastStep = step;
                    break;
                }
            }
            long keptStep = lastStep;
            float[] kept = params;
            if (best != null) {
                keptStep = best.step();
                kept = best.params();
                valLoss = best.loss();
                valPredicted = best.predicted();
            }
            double testLoss = Double.NaN;
            int[] testPredicted = new int[0];
            if (test != null) {
                ClassifierScorer.Scores s = scorer.score(kept, test);
                testLoss = s.loss();
                testPredicted = s.predicted();
            }
            return new Result(start.merged(kept), kept, lastTrainLoss, valLoss, valPredicted,
                    stepNanos / 1e6 / lastStep, nonFinite.skipped(), keptStep, testLoss, testPredicted, lastStep);
        }
    }

    private static double accuracy(int[] predicted, EncodedExamples gold) {
        int right = 0;
        for (int i = 0; i < predicted.length; i++) {
            if (predicted[i] == gold.label(i)) {
                right++;
            }
        }
        return predicted.length == 0 ? 0 : (double) right / predicted.length;
    }

    /** An evaluation's outcome, to keep the best one. */
    private record Best(long step, double accuracy, double loss, int[] predicted, float[] params) {
        boolean betterThan(Best other) {
            return other == null || accuracy > other.accuracy || (accuracy == other.accuracy && loss < other.loss);
        }

        Best copy() {
            return new Best(step, accuracy, loss, predicted.clone(), params.clone());
        }
    }

    /**
     * Examples in a seeded order, reshuffled every epoch: read in sequence ({@link #next}), or by
     * global sample number ({@link #at}, what a distributed job's shares and a resume need).
     */
    static final class ExampleOrder {
        private final long seed;
        private Xoshiro256StarStar random;
        private final int[] permutation;
        private int next;
        /** The epoch {@link #permutation} orders: the number of shuffles so far, minus one. */
        private long epoch;

        ExampleOrder(int n, long seed) {
            this.seed = seed;
            this.permutation = new int[n];
            restart();
        }

        private void restart() {
            random = Xoshiro256StarStar.seeded(seed ^ 0xC1A55L);
            for (int i = 0; i < permutation.length; i++) {
                permutation[i] = i;
            }
            epoch = -1;
            shuffle();
        }

        /**
         * The example at global sample number {@code sample}: the same as the {@code sample}-th
         * {@link #next} of a fresh order. An earlier epoch than the current one replays the
         * shuffles from the seed. Do not mix with {@link #next} on one instance.
         */
        int at(long sample) {
            long wanted = sample / permutation.length;
            if (wanted < epoch) {
                restart();
            }
            while (epoch < wanted) {
                shuffle();
            }
            return permutation[(int) (sample % permutation.length)];
        }

        int[] next(int count) {
            int[] out = new int[count];
            for (int i = 0; i < count; i++) {
                if (next == permutation.length) {
                    shuffle();
                }
                out[i] = permutation[next++];
            }
            return out;
        }

        private void shuffle() {
            for (int i = permutation.length - 1; i > 0; i--) {
                int j = (int) random.nextLong(i + 1);
                int tmp = permutation[i];
                permutation[i] = permutation[j];
                permutation[j] = tmp;
            }
            next = 0;
            epoch++;
        }
    }
}
