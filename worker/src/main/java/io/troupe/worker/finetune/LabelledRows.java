package io.troupe.worker.finetune;

import io.troupe.data.labelled.LabelSet;
import io.troupe.model.graph.DType;
import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.Trainable;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.worker.engine.BatchParallelEngine;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.job.StartingPoint;
import java.util.ArrayList;
import java.util.List;

/**
 * A classification fine-tune's rows on {@code WorkerJob}'s step path: the encoded train and
 * val examples of one stratified split, how the global sample numbers of a share become
 * right-padded rows with lengths and labels, the training graph for a micro-batch size, and the
 * evaluation (val loss and accuracy over every val example).
 *
 * <p>Sample {@code s} is the example {@link ClassifierTrainer}'s seeded epoch shuffle puts at
 * position {@code s}: a pure function of the sample number, so any split of a step's samples
 * among workers, a re-formed ring and a resume all see the same examples as a local run.
 */
public final class LabelledRows implements AutoCloseable {
    /** The training graph's batch inputs: [rows, T] tokens, [rows] lengths and labels. */
    public static final List<String> INPUTS = List.of(TrainingGraph.TOKENS, ClassifierGraphs.LENGTHS,
            ClassifierGraphs.LABELS);
    private final ClassifierHead head;
    private final LabelSet labels;
    private final EncodedExamples train;
    private final EncodedExamples val;
    private final int seqLen;
    private final ClassifierTrainer.ExampleOrder order;
    private ClassifierScorer scorer;
    private double lastAccuracy = Double.NaN;

    /**
     * @param blockSize the model's position table; rows are padded to the longest example, at most this
     * @param seed the run's seed (the epoch shuffle's)
     */
    public LabelledRows(ClassifierHead head, LabelSet labels, EncodedExamples train, EncodedExamples val,
                        int blockSize, long seed) {
        if (labels.size() != head.classes()) {
            throw new IllegalArgumentException(labels.size() + " labels for a head of " + head.classes() + " classes");
        }
        this.head = head;
        this.labels = labels;
        this.train = train;
        this.val = val;
        // As ClassifierTrainer.seqLen: padding width never changes a row's result, only the cost.
        this.seqLen = Math.min(blockSize, Math.max(train.maxLength(), val.maxLength()));
        this.order = new ClassifierTrainer.ExampleOrder(train.size(), seed);
    }

    public ClassifierHead head() {
        return head;
    }

    public LabelSet labels() {
        return labels;
    }

    /** The padded row length of every batch. */
    public int seqLen() {
        return seqLen;
    }

    /** Examples in one epoch. */
    public int trainExamples() {
        return train.size();
    }

    /** The validation examples. */
    public EncodedExamples val() {
        return val;
    }

    /** The training graph of a micro-batch of {@code rows}. */
    public TrainingGraph training(Backbone cfg, int rows, long dropoutSeed, StartingPoint start) {
        return ClassifierGraphs.training(cfg, head, rows, seqLen, DType.FLOAT, dropoutSeed, start.trainable(),
                start.fullParameters(), start.lora());
    }

    /** Fills {@code engine}'s batch with samples {@code first .. first+rows} of the epoch order. */
    public void fill(BatchParallelEngine engine, long first, int rows) {
        int[] examples = new int[rows];
        for (int r = 0; r < rows; r++) {
            examples[r] = order.at(first + r);
        }
        train.fill(examples, 0, rows, seqLen, engine.batch(TrainingGraph.TOKENS),
                engine.batch(ClassifierGraphs.LENGTHS), engine.batch(ClassifierGraphs.LABELS));
    }

    /** Builds the evaluation session; call once before {@link #evaluate}. */
    public void prepareEvaluation(Backbone cfg, StartingPoint start, int threads) throws EngineException {
        Trainable trainable = start.trainable();
        LoraConfig lora = start.lora();
        scorer = new ClassifierScorer(ClassifierGraphs.evaluation(cfg.withDropout(0), head, seqLen, DType.FLOAT,
                trainable, start.fullParameters(), lora), head.classes(), threads);
    }

    /**
     * Scores the trainable parameters {@code params}: the mean loss over up to {@code trainRows}
     * training examples of this worker's part (every {@code workers}-th from {@code rank}) and over
     * every val example; the val accuracy is kept for {@link #lastAccuracy()}.
     *
     * @return {train loss, val loss}
     */
    public double[] evaluate(float[] params, int rank, int workers, int trainRows) throws EngineException {
        List<long[]> rows = new ArrayList<>();
        List<Integer> gold = new ArrayList<>();
        for (int i = rank; i < train.size() && rows.size() < trainRows; i += workers) {
            rows.add(train.tokens().get(i));
            gold.add(train.label(i));
        }
        EncodedExamples part = new EncodedExamples(rows, gold.stream().mapToInt(Integer::intValue).toArray(), 0, 0);
        double trainLoss = scorer.score(params, part).loss();
        ClassifierScorer.Scores v = scorer.score(params, val);
        int right = 0;
        for (int i = 0; i < v.predicted().length; i++) {
            if (v.predicted()[i] == val.label(i)) {
                right++;
            }
        }
        lastAccuracy = val.size() == 0 ? Double.NaN : (double) right / val.size();
        return new double[] {trainLoss, v.loss()};
    }

    /** The val accuracy of the last {@link #evaluate}, NaN before one. */
    public double lastAccuracy() {
        return lastAccuracy;
    }

    @Override
    public void close() {
        if (scorer != null) {
            scorer.close();
        }
    }
}
