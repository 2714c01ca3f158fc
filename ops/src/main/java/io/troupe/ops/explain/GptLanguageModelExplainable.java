package io.troupe.ops.explain;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.explain.ScoreModel;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptScoreModels;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.DType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A GPT language model explained by the log-probability of the next token (the most likely one)
 * or of a given continuation, summed over its tokens. A text longer than the context keeps its
 * last tokens, the ones nearest to what is predicted.
 */
final class GptLanguageModelExplainable implements ExplainableModel {
    private final GptConfig cfg;
    private final float[] params;
    private final Tokenizer tokenizer;
    private final ScoreModel scoreModel;

    private GptLanguageModelExplainable(GptConfig cfg, float[] params, Tokenizer tokenizer) {
        this.cfg = cfg;
        this.params = params;
        this.tokenizer = tokenizer;
        this.scoreModel = GptScoreModels.languageModel(cfg, params, DType.FLOAT);
    }

    static GptLanguageModelExplainable open(Path dir, ExportedWeights weights) throws DataException {
        GptConfig cfg = weights.config();
        Tokenizer tokenizer = Tokenizer.load(dir);
        if (tokenizer.vocabSize() != cfg.vocabSize()) {
            throw new DataException(weights.file() + " has a vocabulary of " + cfg.vocabSize() + " but tokenizer.json has "
                    + tokenizer.vocabSize() + "; they come from different runs");
        }
        return new GptLanguageModelExplainable(cfg, weights.parameters(ParameterLayout.of(cfg)), tokenizer);
    }

    @Override
    public ScoreModel scoreModel() {
        return scoreModel;
    }

    private long[] encode(String text, String param, String what) {
        int[] ids;
        try {
            ids = tokenizer.encode(text);
        } catch (IllegalArgumentException e) {
            throw ExplainException.invalid(param, "the " + what + " cannot be encoded by the model's tokenizer: "
                    + e.getMessage());
        }
        if (ids.length == 0) {
            throw ExplainException.invalid(param, "the " + what + " encodes to no tokens");
        }
        return Arrays.stream(ids).asLongStream().toArray();
    }

    @Override
    public PreparedText prepare(String text, String target, TargetPredictor predict) throws OrtException {
        long[] prompt = encode(text, "text", "text");
        int block = cfg.blockSize();
        if (target == null || target.equals(ExplainOptions.NEXT_TOKEN)) {
            int n = Math.min(prompt.length, block);
            long[] ids = Arrays.copyOfRange(prompt, prompt.length - n, prompt.length);
            double[] query = new double[n];
            query[n - 1] = 1;
            PreparedText probe = prepared(ids, n, new long[] {n - 1}, new long[] {0}, query, "", prompt.length - n);
            long next = predict.argmax(probe);
            return prepared(ids, n, new long[] {n - 1}, new long[] {next}, query,
                    tokenizer.decode(new int[] {(int) next}), prompt.length - n);
        }
        long[] continuation = encode(target, "target", "continuation");
        int c = continuation.length;
        if (c > block) {
            throw ExplainException.invalid("target", "the continuation has " + c + " tokens but the model's context holds "
                    + block + " with at least one token of text; shorten the continuation");
        }
        // Input: the prompt's last p tokens, then the continuation but its last token; the
        // prediction at position p - 1 + i is continuation token i.
        int p = Math.min(prompt.length, block - c + 1);
        long[] ids = new long[p + c - 1];
        System.arraycopy(prompt, prompt.length - p, ids, 0, p);
        System.arraycopy(continuation, 0, ids, p, c - 1);
        long[] positions = new long[c];
        double[] query = new double[ids.length];
        for (int i = 0; i < c; i++) {
            positions[i] = p - 1 + i;
            query[p - 1 + i] = 1.0 / c;
        }
        return prepared(ids, p, positions, continuation, query, target, prompt.length - p);
    }

    private PreparedText prepared(long[] ids, int attributed, long[] positions, long[] targets, double[] query,
                                  String target, int truncated) {
        return new PreparedText(TokenText.pieces(tokenizer, ids, attributed), ids, Map.of(),
                Map.of(GptScoreModels.TARGET_POSITIONS, positions, GptScoreModels.TARGET_IDS, targets), query, target,
                truncated);
    }

    @Override
    public float[] embed(long[] ids) {
        return TokenText.rows(params, cfg.nEmbd(), ids); // wte is the first parameter: [V, C]
    }
}
