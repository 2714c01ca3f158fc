package io.troupe.worker.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.WordPieceTrainer;
import io.troupe.model.bert.EncoderGraphs;
import java.nio.LongBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The rows of {@code train --arch bert}: [CLS] window [SEP], masked with a mask that depends on
 * (seed, row key) only, so however a step's rows are split (micro-batches, workers) and whenever
 * they are drawn (after a resume) each row gets the same mask.
 */
class MlmBatchesTest {
    private static final int T = 24;
    private static final int ROWS = 6;

    static HfJsonTokenizer tokenizer() {
        PieceCounts words = PieceCounts.bertWords();
        words.add("the quick brown fox jumps over the lazy dog and the cat sat on the mat ".repeat(20));
        return WordPieceTrainer.train(words, 80);
    }

    private static long[] windows() {
        long[] w = new long[ROWS * T];
        for (int i = 0; i < w.length; i++) {
            w[i] = 10 + (i * 7L) % 60;    // ordinary tokens (the specials are ids 0-4)
        }
        return w;
    }

    private static long[][] prepare(MlmBatches batches, long[] windows, int fromRow, int rows, long firstKey) {
        long[] tokens = Arrays.copyOfRange(windows, fromRow * T, (fromRow + rows) * T);
        long[] targets = new long[tokens.length];
        batches.prepare(LongBuffer.wrap(tokens), LongBuffer.wrap(targets), rows, T, firstKey);
        return new long[][] {tokens, targets};
    }

    @Test
    void aRowsMaskDependsOnlyOnSeedAndKeyNotOnHowTheRowsAreSplitOrWhatCameBefore() {
        HfJsonTokenizer tok = tokenizer();
        long[] w = windows();
        long[][] whole = prepare(MlmBatches.of(tok, 7), w, 0, ROWS, 100);
        // The same rows as two shares (two workers, or two micro-steps), and after other draws.
        MlmBatches other = MlmBatches.of(tok, 7);
        prepare(other, w, 0, ROWS, 5_000);
        long[][] first = prepare(other, w, 0, 2, 100);
        long[][] rest = prepare(MlmBatches.of(tok, 7), w, 2, ROWS - 2, 102);
        assertArrayEquals(whole[0], concat(first[0], rest[0]));
        assertArrayEquals(whole[1], concat(first[1], rest[1]));
        // Another key (the same window in the next epoch) or another seed: another mask.
        assertFalse(Arrays.equals(whole[1], prepare(MlmBatches.of(tok, 7), w, 0, ROWS, 100 + ROWS)[1]));
        assertFalse(Arrays.equals(whole[1], prepare(MlmBatches.of(tok, 8), w, 0, ROWS, 100)[1]));
    }

    @Test
    void rowsAreClsWindowSepAndOnlyOrdinaryTokensArePredicted() {
        HfJsonTokenizer tok = tokenizer();
        long cls = tok.tokenId("[CLS]").getAsInt();
        long sep = tok.tokenId("[SEP]").getAsInt();
        long mask = tok.tokenId("[MASK]").getAsInt();
        long[] w = windows();
        long[][] out = prepare(MlmBatches.of(tok, 3), w, 0, ROWS, 0);
        int chosen = 0;
        for (int r = 0; r < ROWS; r++) {
            assertEquals(cls, out[0][r * T]);
            assertEquals(sep, out[0][r * T + T - 1]);
            assertEquals(EncoderGraphs.IGNORE, out[1][r * T]);
            assertEquals(EncoderGraphs.IGNORE, out[1][r * T + T - 1]);
            for (int i = 1; i < T - 1; i++) {
                long original = w[r * T + i - 1];    // the window shifted right by one
                long target = out[1][r * T + i];
                if (target == EncoderGraphs.IGNORE) {
                    assertEquals(original, out[0][r * T + i], "an unchosen token changed");
                } else {
                    chosen++;
                    assertEquals(original, target);
                    assertTrue(out[0][r * T + i] == mask || out[0][r * T + i] >= 5, "replaced by a special");
                }
            }
        }
        assertTrue(chosen > 0 && chosen < ROWS * (T - 2) / 3, "about 15% chosen, got " + chosen);
    }

    @Test
    void aTokenizerWithoutMaskIsRefusedNamingTheFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MlmBatches.of(CharTokenizer.fromText("abc"), 1));
        assertTrue(e.getMessage().contains("prepare --tokenizer wordpiece"), e.getMessage());
    }

    private static long[] concat(long[] a, long[] b) {
        long[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
