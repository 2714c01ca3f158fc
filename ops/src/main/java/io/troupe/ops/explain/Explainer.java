package io.troupe.ops.explain;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.model.explain.ExplainGraphs;
import io.troupe.model.explain.ScoreModel;
import io.troupe.worker.run.ClassifierExport;
import java.nio.file.Path;
import java.util.List;

/**
 * Explains an exported model's decisions token by token. The gradients come from Troupe's own
 * autodiff: {@link ExplainGraphs} builds, for the model's {@link ScoreModel}, a graph from token
 * embeddings to the score and its gradient, run here by ONNX Runtime with the model's weights.
 * Integrated gradients run all interpolation steps, the baseline and the input as rows of one
 * batch (in chunks of {@value #MAX_ROWS} rows). The sessions are built on first use; one
 * explanation runs at a time.
 */
public final class Explainer implements AutoCloseable {
    /** Most rows (interpolation steps) in one run, to bound the activations' memory. */
    static final int MAX_ROWS = 64;

    private final ExplainableModel model;
    private final int threads;
    private ScoreSession gradientSession;
    private ScoreSession attentionSession;

    Explainer(ExplainableModel model, int threads) {
        this.model = model;
        this.threads = threads;
    }

    /**
     * Opens the export in {@code dir}: a classifier from {@code troupe finetune --task classify}
     * (a GPT's, or an encoder's from {@code --from onnx:FILE}) or a language model from {@code troupe train}.
     *
     * @throws DataException when the directory is not a Troupe export of a GPT
     */
    public static Explainer open(Path dir, int threads) throws DataException {
        ExportedWeights weights = ExportedWeights.read(dir);
        String task = weights.metadata().getOrDefault(ClassifierExport.TASK, "lm");
        ExplainableModel model;
        if (task.equals(ClassifierExport.CLASSIFY) && "bert".equals(weights.metadata().get("troupe.arch"))) {
            model = EncoderClassifierExplainable.open(dir, weights);
        } else if (task.equals(ClassifierExport.CLASSIFY)) {
            model = GptClassifierExplainable.open(dir, weights);
        } else if (task.equals("lm")) {
            model = GptLanguageModelExplainable.open(dir, weights);
        } else {
            throw new DataException(weights.file() + " is a '" + task + "' model; troupe explain knows GPT classifiers"
                    + " and language models, and encoder classifiers");
        }
        return new Explainer(model, threads);
    }

    /** The context length: longer texts are truncated (and the explanation says how many tokens were left out). */
    public int maxTokens() {
        return model.scoreModel().maxTokens();
    }

    /**
     * Attributes the score of {@code options.target()} to the tokens of {@code text}.
     *
     * @throws ExplainException when the text is empty or the target is not one the model has
     */
    public synchronized Explanation explain(String text, ExplainOptions options) throws OrtException {
        if (text == null || text.isEmpty()) {
            throw ExplainException.invalid("text", "the text is empty; pass the text to explain");
        }
        PreparedText prepared = model.prepare(text, options.target(),
                probe -> argmax(gradient().run(model.embed(probe.ids()), 1, width(), probe).candidates()));
        return switch (options.method()) {
            case GRAD_X_INPUT -> gradientTimesInput(prepared);
            case INTEGRATED_GRADIENTS -> integratedGradients(prepared, options.steps());
            case ATTENTION_ROLLOUT -> rollout(prepared);
        };
    }

    private int width() {
        return model.scoreModel().embeddingWidth();
    }

    private ScoreSession gradient() throws OrtException {
        if (gradientSession == null) {
            gradientSession = new ScoreSession(ExplainGraphs.gradient(model.scoreModel()), threads);
        }
        return gradientSession;
    }

    private ScoreSession attention() throws OrtException {
        if (attentionSession == null) {
            attentionSession = new ScoreSession(ExplainGraphs.attention(model.scoreModel()), threads);
        }
        return attentionSession;
    }

    private Explanation gradientTimesInput(PreparedText p) throws OrtException {
        float[] x = model.embed(p.ids());                                      // [T * C]
        ScoreSession.Output out = gradient().run(x, 1, width(), p);
        double[] attributions = new double[p.attributed()];
        int c = width();
        for (int t = 0; t < attributions.length; t++) {
            double sum = 0;
            for (int j = t * c; j < (t + 1) * c; j++) {
                sum += (double) out.gradient()[j] * x[j];
            }
            attributions[t] = sum;
        }
        return new Explanation(p.tokens(), attributions, p.target(), out.score()[0], null, null, null,
                ExplainMethod.GRAD_X_INPUT, p.truncated());
    }

    /**
     * Rows 0..steps-1 are the midpoints alpha = (k + 0.5) / steps of the path from the baseline
     * b (the model's, zero embeddings by default, at the attributed positions) to the input x; row steps is the baseline and
     * row steps + 1 the input. Positions after the attributed ones (a continuation's own tokens)
     * stay at their embeddings, so the attributions sum to f(x) - f(baseline) over the text alone.
     */
    private Explanation integratedGradients(PreparedText p, int steps) throws OrtException {
        float[] x = model.embed(p.ids());                                      // [T * C]
        float[] b = model.baseline(p);                                         // [attributed * C]
        int c = width();
        int attributedValues = p.attributed() * c;
        int rowSize = x.length;
        int rows = steps + 2;
        double[] gradientSum = new double[attributedValues];
        double baselineScore = Double.NaN;
        double score = Double.NaN;
        for (int from = 0; from < rows; from += MAX_ROWS) {
            int n = Math.min(MAX_ROWS, rows - from);
            float[] batch = new float[n * rowSize];                            // [n, T, C]
            for (int r = 0; r < n; r++) {
                int row = from + r;
                double alpha = row < steps ? (row + 0.5) / steps : row == steps ? 0 : 1;
                int base = r * rowSize;
                for (int j = 0; j < rowSize; j++) {
                    batch[base + j] = j < attributedValues ? (float) (b[j] + alpha * (x[j] - b[j])) : x[j];
                }
            }
            ScoreSession.Output out = gradient().run(batch, n, c, p);
            for (int r = 0; r < n; r++) {
                int row = from + r;
                if (row < steps) {
                    int base = r * rowSize;
                    for (int j = 0; j < attributedValues; j++) {
                        gradientSum[j] += out.gradient()[base + j];
                    }
                } else if (row == steps) {
                    baselineScore = out.score()[r];
                } else {
                    score = out.score()[r];
                }
            }
        }
        double[] attributions = new double[p.attributed()];
        double total = 0;
        for (int t = 0; t < attributions.length; t++) {
            double sum = 0;
            for (int j = t * c; j < (t + 1) * c; j++) {
                sum += ((double) x[j] - b[j]) * gradientSum[j] / steps;        // (x - b) * mean gradient
            }
            attributions[t] = sum;
            total += sum;
        }
        double error = Math.abs(total - (score - baselineScore));
        return new Explanation(p.tokens(), attributions, p.target(), score, model.baselineDescription(), baselineScore,
                error, ExplainMethod.INTEGRATED_GRADIENTS, p.truncated());
    }

    private Explanation rollout(PreparedText p) throws OrtException {
        int t = p.ids().length;
        ScoreSession.Output out = attention().run(model.embed(p.ids()), 1, width(), p);
        List<float[]> layers = out.attention();
        int heads = layers.get(0).length / (t * t);
        double[] flow = AttentionRollout.rollout(layers, heads, t, p.rolloutQuery());
        double[] attributions = java.util.Arrays.copyOf(flow, p.attributed());
        return new Explanation(p.tokens(), attributions, p.target(), out.score()[0], null, null, null,
                ExplainMethod.ATTENTION_ROLLOUT, p.truncated());
    }

    private static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public synchronized void close() throws OrtException {
        try {
            if (gradientSession != null) {
                gradientSession.close();
            }
        } finally {
            if (attentionSession != null) {
                attentionSession.close();
            }
        }
    }
}
