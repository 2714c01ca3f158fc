package io.troupe.ops.translate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqInit;
import io.troupe.ops.inference.TokenSampler;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cached decoding against the uncached reference on an untrained model whose weights are scaled
 * up (so attention, positions and the cross-attention all move the argmax): the KV-cache greedy
 * output equals the full-prefix greedy output token for token, up to 40 target tokens; a beam of
 * one is greedy; sampling at temperature 0 is greedy and a seed reproduces a sample.
 */
class Seq2SeqDecoderTest {
    private static final int BOS = 47;
    private static final int EOS = 48;
    private static final int PAD = 49;
    private static Seq2SeqDecoder cached;
    private static GreedyTranslator uncached;

    @BeforeAll
    static void open() throws Exception {
        Seq2SeqConfig cfg = new Seq2SeqConfig(50, 12, 41, 2, 2, 4, 32, 64, 0, 0);
        float[] params = Seq2SeqInit.initial(cfg, 11);
        for (int i = 0; i < params.length; i++) {
            params[i] *= 6;      // LayerNorm gains become 6: fine, it only sharpens the logits
        }
        Seq2SeqModelDir model = new Seq2SeqModelDir(cfg, params, null, BOS, EOS, PAD, "");
        cached = new Seq2SeqDecoder(model, 1);
        uncached = new GreedyTranslator(model, 1);
    }

    @AfterAll
    static void close() throws Exception {
        cached.close();
        uncached.close();
    }

    private static int[] source(SplittableRandom r) {
        int[] src = new int[1 + r.nextInt(12)];
        for (int i = 0; i < src.length; i++) {
            src[i] = r.nextInt(BOS);
        }
        return src;
    }

    @Test
    void cachedGreedyEqualsUncachedGreedyUpToFortyTokens() throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        int longest = 0;
        for (int i = 0; i < 12; i++) {
            int[] src = source(r);
            int[] want = uncached.translateIds(src);
            int[] got = cached.greedy(src, 40);
            assertArrayEquals(want, got, "source " + Arrays.toString(src));
            longest = Math.max(longest, got.length);
        }
        assertTrue(longest >= 20, "some output should be long, longest " + longest);
        int[] src = {4, 8, 15, 16, 23, 42};
        assertArrayEquals(uncached.translateIds(src, 40, false), cached.greedyFixedLength(src, 40));
        assertEquals(40, cached.greedyFixedLength(src, 40).length);
    }

    @Test
    void aBeamOfOneIsGreedyAndWiderBeamsGiveValidOutput() throws Exception {
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 0; i < 8; i++) {
            int[] src = source(r);
            int[] greedy = cached.greedy(src, 40);
            assertArrayEquals(greedy, cached.beam(src, 1, 1.0, 40), "source " + Arrays.toString(src));
            int[] wide = cached.beam(src, 4, 1.0, 40);
            assertTrue(wide.length <= 40);
            for (int t : wide) {
                assertTrue(t >= 0 && t < 50 && t != EOS, "token " + t);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> cached.beam(new int[] {1}, 0, 1.0, 10));
        assertThrows(IllegalArgumentException.class, () -> cached.beam(new int[] {1}, 2, -1, 10));
    }

    /**
     * Beam search reorders the cache rows after every step (each survivor continues its origin's
     * keys and values): the winner's score must be the log-probability of its tokens fed alone.
     */
    @Test
    void aWideBeamsScoreIsTheLogProbabilityOfItsTokensFedAlone() throws Exception {
        SplittableRandom r = new SplittableRandom(13);
        int longest = 0;
        for (int i = 0; i < 8; i++) {
            int[] src = source(r);
            Seq2SeqDecoder.Hypothesis best = cached.beamSearch(src, 4, 1.0, 30);
            assertEquals(cached.logProbability(src, best.tokens(), best.ended()), best.logProb(), 1e-3,
                    "source " + Arrays.toString(src) + " -> " + Arrays.toString(best.tokens()));
            longest = Math.max(longest, best.tokens().length);
        }
        assertTrue(longest >= 5, "some beam output should be long enough to need reordering, longest " + longest);
    }

    @Test
    void samplingAtTemperatureZeroIsGreedyAndASeedReproducesASample() throws Exception {
        int[] src = {3, 14, 15, 9, 2};
        assertArrayEquals(cached.greedy(src, 30), cached.sample(src, new TokenSampler(0, 0, 1), 30));
        int[] a = cached.sample(src, new TokenSampler(1.0, 0, 42), 30);
        int[] b = cached.sample(src, new TokenSampler(1.0, 0, 42), 30);
        assertArrayEquals(a, b);
        assertTrue(a.length <= 30);
    }
}
