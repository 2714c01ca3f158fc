package io.troupe.ops.audit;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.ops.inference.ExportedModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Scores sentences with a causal language model: the sum, over the sentence's tokens, of the
 * natural-log probability of each token given the tokens before it, all conditioned on one start
 * token (as lm-eval-harness scores a continuation of an empty context).
 *
 * <p>The start token is the tokenizer's end-of-text token when it has one (GPT-2 and trained BPE
 * datasets put it between documents, so it is what a model has seen before a document starts), and
 * otherwise the first token of {@code "\n"} (a character model trained on plain text has seen a
 * newline before most lines start). A model whose vocabulary lacks both is refused.
 *
 * <p>Sentences are cut into windows of at most {@code block_size} inputs; a sentence longer than
 * that is scored in several windows, each later window keeping the last half-block of the
 * sentence before its first scored token as context. Windows are sorted by length and run
 * {@link #DEFAULT_BATCH} at a time, right-padded to the longest of the batch: the model is causal,
 * so the padding after a window's last token changes none of that window's scores.
 */
public final class SentenceScorer {
    /** Windows per ORT run unless the logits would exceed {@link #MAX_LOGITS}. */
    public static final int DEFAULT_BATCH = 32;
    /** At most this many logits (floats) per ORT run, to bound memory with large vocabularies. */
    static final long MAX_LOGITS = 16L << 20;

    private final ExportedModel model;
    private final int startToken;
    private final int batch;

    /**
     * @throws DataException if the model's tokenizer has no start token (a model without an LM
     *     head is refused earlier, by {@link ExportedModel#open})
     */
    public SentenceScorer(ExportedModel model, int batch) throws DataException {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        this.model = model;
        this.startToken = startToken(model.tokenizer());
        this.batch = batch;
    }

    /** The token every sentence is conditioned on (see the class comment). */
    public int startToken() {
        return startToken;
    }

    static int startToken(Tokenizer tokenizer) throws DataException {
        if (tokenizer.endOfTextId().isPresent()) {
            return tokenizer.endOfTextId().getAsInt();
        }
        try {
            int[] newline = tokenizer.encode("\n");
            if (newline.length > 0) {
                return newline[0];
            }
        } catch (IllegalArgumentException e) {
            // falls through to the error below
        }
        throw new DataException("the model's " + tokenizer.type() + " tokenizer has neither an end-of-text token nor"
                + " a newline, so there is no start token to condition sentences on");
    }

    /**
     * Log-likelihoods of {@code sentences} in nats; {@code NaN} for a sentence the tokenizer cannot
     * encode (a character it never saw), which the caller reports as skipped.
     */
    public double[] score(List<String> sentences) throws OrtException, DataException {
        double[] scores = new double[sentences.size()];
        List<Window> windows = new ArrayList<>();
        for (int s = 0; s < sentences.size(); s++) {
            int[] ids;
            try {
                ids = model.tokenizer().encode(sentences.get(s));
            } catch (IllegalArgumentException e) {
                scores[s] = Double.NaN;
                continue;
            }
            windows.addAll(windows(s, startToken, ids, model.blockSize()));
        }
        windows.sort(Comparator.comparingInt((Window w) -> w.input.length).reversed());
        int vocab = model.vocabSize();
        int i = 0;
        while (i < windows.size()) {
            int len = windows.get(i).input.length; // the longest of this batch: windows are sorted
            int rows = (int) Math.max(1, Math.min(batch, MAX_LOGITS / ((long) len * vocab)));
            rows = Math.min(rows, windows.size() - i);
            long[] ids = new long[rows * len]; // [rows, len], right-padded with token 0
            for (int r = 0; r < rows; r++) {
                long[] input = windows.get(i + r).input;
                System.arraycopy(input, 0, ids, r * len, input.length);
            }
            float[] logits = model.logits(ids, rows, len); // [rows, len, vocab]
            if (logits.length != (long) rows * len * vocab) {
                throw new DataException("the model returns " + logits.length + " logits for " + rows + "x" + len
                        + " tokens, not one per vocabulary entry and position: it has no language-model head");
            }
            for (int r = 0; r < rows; r++) {
                Window w = windows.get(i + r);
                double sum = 0;
                for (int p = w.firstScored; p < w.input.length; p++) {
                    sum += logProbability(logits, ((r * len) + p) * vocab, vocab, w.targets[p - w.firstScored]);
                }
                scores[w.sentence] += sum;
            }
            i += rows;
        }
        return scores;
    }

    /**
     * The windows of one sentence: x = [start] + ids must predict x[1..n]. A window feeds
     * x[a .. a+len-1] and scores the targets k..a+len, i.e. input positions k-1-a .. len-1.
     */
    static List<Window> windows(int sentence, int start, int[] ids, int blockSize) {
        int n = ids.length;
        long[] x = new long[n + 1];
        x[0] = start;
        for (int j = 0; j < n; j++) {
            x[j + 1] = ids[j];
        }
        int context = Math.max(1, blockSize - Math.max(1, blockSize / 2)); // tokens of context before a new target
        List<Window> out = new ArrayList<>();
        int k = 1; // next target index in x
        while (k <= n) {
            int a = Math.max(0, k - context);
            int len = Math.min(blockSize, n - a);
            int first = k - 1 - a;
            int[] targets = new int[len - first];
            for (int p = first; p < len; p++) {
                targets[p - first] = (int) x[a + p + 1];
            }
            out.add(new Window(sentence, Arrays.copyOfRange(x, a, a + len), first, targets));
            k = a + len + 1;
        }
        return out;
    }

    /** One ORT row: the token ids fed, the first position scored, and its targets. */
    record Window(int sentence, long[] input, int firstScored, int[] targets) {
    }

    private static double logProbability(float[] logits, int offset, int vocab, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits[offset + v]);
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            sum += Math.exp(logits[offset + v] - max);
        }
        return logits[offset + target] - max - Math.log(sum);
    }
}
