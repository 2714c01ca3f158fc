package io.troupe.worker.seq2seq;

import io.troupe.data.pairs.PairDataset;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqGraphs;
import java.util.Arrays;

/**
 * One padded batch of {@code rows} rows: sources truncated to the model's positions; the decoder
 * reads BOS then the target, and predicts the target then EOS; padding is the pad id on the
 * inputs and {@link Seq2SeqGraphs#IGNORE} on the targets. Rows past {@code rowIds} (the end of a
 * short last batch) hold one pad source token and no target, so they add nothing to the loss or
 * the gradients. Each side's length is the first {@link #LENGTH_LADDER} value that holds the
 * longest row (capped at the model's positions), so an epoch meets only a few shapes.
 *
 * @param src [rows, srcLen]
 * @param srcLengths [rows]
 * @param tgtIn [rows, tgtLen]
 * @param targets [rows, tgtLen]
 * @param realTokens real source and target tokens (EOS counted), for the padding fraction
 * @param targetTokens target positions that count in the loss (target tokens kept plus EOS)
 */
public record Seq2SeqBatch(int rows, int srcLen, int tgtLen, long[] src, long[] srcLengths, long[] tgtIn,
                           long[] targets, long realTokens, long targetTokens) {
    /**
     * The padded lengths a batch side may have (then capped at the model's positions): multiples
     * of 8 up to 32, then 1.5x / 1.33x steps, so a side of at most 64 tokens has 6 shapes.
     */
    public static final int[] LENGTH_LADDER = {8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024};

    /** The batch of {@code rowIds} (examples of {@code examples}), padded to {@code rows} rows. */
    public static Seq2SeqBatch of(PairDataset.Examples examples, int[] rowIds, int rows, Seq2SeqConfig cfg, int bos,
                                  int eos, int pad) {
        if (rowIds.length > rows) {
            throw new IllegalArgumentException(rowIds.length + " examples do not fit a batch of " + rows);
        }
        int b = rows;
        int maxS = 1;
        int maxT = 1;
        for (int row : rowIds) {
            maxS = Math.max(maxS, Math.min(cfg.maxSource(), examples.source(row).length));
            maxT = Math.max(maxT, Math.min(cfg.maxTarget(), examples.target(row).length + 1));
        }
        int s = Math.min(cfg.maxSource(), padded(maxS));
        int t = Math.min(cfg.maxTarget(), padded(maxT));
        long[] src = new long[b * s];
        long[] lengths = new long[b];
        long[] tgtIn = new long[b * t];
        long[] targets = new long[b * t];
        Arrays.fill(src, pad);
        Arrays.fill(tgtIn, pad);
        Arrays.fill(targets, Seq2SeqGraphs.IGNORE);
        long real = 0;
        long predicted = 0;
        Arrays.fill(lengths, 1);       // filler rows: one pad token, nothing to predict
        for (int i = 0; i < rowIds.length; i++) {
            int[] source = examples.source(rowIds[i]);
            int n = Math.max(1, Math.min(s, source.length));
            for (int j = 0; j < Math.min(n, source.length); j++) {
                src[i * s + j] = source[j];
            }
            lengths[i] = n;
            int[] target = examples.target(rowIds[i]);
            int m = Math.min(t - 1, target.length);  // target tokens kept; EOS makes m + 1 predictions
            tgtIn[i * t] = bos;
            for (int j = 0; j < m; j++) {
                tgtIn[i * t + j + 1] = target[j];
                targets[i * t + j] = target[j];
            }
            targets[i * t + m] = eos;
            real += n + m + 1;
            predicted += m + 1;
        }
        return new Seq2SeqBatch(b, s, t, src, lengths, tgtIn, targets, real, predicted);
    }

    /**
     * The positions a target of {@code length} tokens adds to the loss in any batch: the tokens
     * kept (at most {@code maxTarget - 1}, since BOS takes one input position) plus EOS. A batch's
     * padded width never cuts a row further, so this is independent of the batch it is in.
     */
    public static int predictions(int length, Seq2SeqConfig cfg) {
        return Math.min(cfg.maxTarget() - 1, length) + 1;
    }

    /** The first ladder length that holds {@code n} tokens. */
    public static int padded(int n) {
        for (int step : LENGTH_LADDER) {
            if (step >= n) {
                return step;
            }
        }
        return n;
    }
}
