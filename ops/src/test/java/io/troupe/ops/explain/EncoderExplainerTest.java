package io.troupe.ops.explain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Pooling;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code troupe explain} on encoder (BERT) classifiers: a hand-set encoder that only looks at the
 * word "cat" gets its attribution there from both gradient methods; on a random encoder the
 * integrated gradients from the [MASK] baseline are complete, and f(baseline) is the model's
 * score of the text with every word masked.
 */
class EncoderExplainerTest {
    private static final int CAT = 6;
    private static final EncoderConfig CFG = TinyExports.ENCODER;

    @TempDir
    Path tmp;

    private static Path export(Path dir, ClassifierHead head, float[] p) throws Exception {
        return TinyExports.encoderClassifier(dir, head, p);
    }

    /**
     * Every sublayer's output projection is zero, so each position's state is the LayerNorms of
     * wte[token] + wpe[position] + wtt[0]. "cat" is (s, -s, 0, ...), every other token (the
     * specials and [MASK] included) and the position rows are zero-mean and zero in dimensions 0
     * and 1, and the head reads dimension 0 alone: no other token can move the score along any path.
     */
    private Path onlyLooksAtCat() throws Exception {
        ClassifierHead head = new ClassifierHead(2, Pooling.MEAN);
        ParameterLayout layout = ClassifierGraphs.layout(CFG, head);
        float[] p = new float[Math.toIntExact(layout.size())];
        int c = CFG.nEmbd();
        for (String ln : new String[] {"ln_emb", "h.0.ln_1", "h.0.ln_2"}) {
            fill(p, layout.view(ln + ".weight"), 1f);
        }
        Random r = new Random(1);
        for (String w : new String[] {"h.0.attn.c_attn.weight", "h.0.mlp.c_fc.weight"}) {
            ParameterLayout.View v = layout.view(w);
            for (int i = 0; i < v.length(); i++) {
                p[Math.toIntExact(v.offset() + i)] = (float) (0.3 * r.nextGaussian());
            }
        }
        for (int token = 0; token < CFG.vocabSize(); token++) {
            int row = Math.toIntExact(layout.view("wte").offset()) + token * c;
            if (token == CAT) {
                p[row] = 2f;
                p[row + 1] = -2f;
            } else {
                for (int j = 2; j < c - 2; j += 2) {
                    float value = (float) r.nextGaussian();
                    p[row + j] = value;
                    p[row + j + 1] = -value;
                }
            }
        }
        for (int pos = 0; pos < CFG.blockSize(); pos++) {
            int row = Math.toIntExact(layout.view("wpe").offset()) + pos * c;
            p[row + c - 2] = 1f;
            p[row + c - 1] = -1f;
        }
        int w = Math.toIntExact(layout.view("cls.weight").offset());   // [C, K]
        p[w] = -1f;         // dimension 0 -> "no"
        p[w + 1] = 1f;      // dimension 0 -> "yes"
        return export(tmp.resolve("cat"), head, p);
    }

    private static void fill(float[] p, ParameterLayout.View v, float value) {
        for (int i = 0; i < v.length(); i++) {
            p[Math.toIntExact(v.offset() + i)] = value;
        }
    }

    private Path random(Pooling pooling) throws Exception {
        return TinyExports.randomEncoderClassifier(tmp.resolve("random-" + pooling.label()), pooling);
    }

    private static double share(Explanation e, int position) {
        double total = 0;
        for (double a : e.attributions()) {
            total += Math.abs(a);
        }
        return Math.abs(e.attributions()[position]) / total;
    }

    @Test
    void bothGradientMethodsPutTheAttributionOnTheOneWordTheModelReads() throws Exception {
        try (Explainer explainer = Explainer.open(onlyLooksAtCat(), 1)) {
            for (ExplainMethod method : List.of(ExplainMethod.GRAD_X_INPUT, ExplainMethod.INTEGRATED_GRADIENTS)) {
                Explanation e = explainer.explain("the dog sat on the cat .", new ExplainOptions(method, "yes", 32));
                assertEquals(List.of("[CLS]", "the", "dog", "sat", "on", "the", "cat", "[SEP]"), e.tokens(),
                        "cut to the 8 positions before the [SEP]");
                assertEquals(1, e.truncated());
                assertTrue(share(e, 6) > 0.99, method + ": " + java.util.Arrays.toString(e.attributions()));
                assertTrue(e.attributions()[6] > 0, "cat raises yes");
            }
        }
    }

    @Test
    void integratedGradientsFromTheMaskBaselineAreCompleteAndItsScoreIsTheMaskedText() throws Exception {
        for (Pooling pooling : List.of(Pooling.MEAN, Pooling.CLS)) {
            try (Explainer explainer = Explainer.open(random(pooling), 1)) {
                Explanation e = explainer.explain("the cat sat", new ExplainOptions(ExplainMethod.INTEGRATED_GRADIENTS,
                        "yes", 64));
                assertEquals(List.of("[CLS]", "the", "cat", "sat", "[SEP]"), e.tokens());
                assertTrue(e.baseline().contains("[MASK]"), e.baseline());
                double gap = Math.abs(e.score() - e.baselineScore());
                assertTrue(gap > 1e-3, "the words matter: " + gap);
                assertTrue(e.completenessError() < 0.01 * gap, pooling + ": completeness " + e.completenessError()
                        + " of " + gap);
                assertEquals(0, e.attributions()[0], 1e-9, "[CLS] is the same in the baseline");
                assertEquals(0, e.attributions()[4], 1e-9, "[SEP] is the same in the baseline");
                Explanation masked = explainer.explain("[MASK] [MASK] [MASK]",
                        new ExplainOptions(ExplainMethod.GRAD_X_INPUT, "yes", 1));
                assertEquals(masked.score(), e.baselineScore(), 1e-4, "f(b) is the score of the masked text");
                Explanation rollout = explainer.explain("the cat sat", new ExplainOptions(ExplainMethod.ATTENTION_ROLLOUT,
                        null, 1));
                double flow = 0;
                for (double a : rollout.attributions()) {
                    flow += a;
                }
                assertEquals(1, flow, 1e-4, "rollout distributes the pooled rows' attention over the tokens");
            }
        }
    }

    @Test
    void anUnknownLabelAndANextTokenTargetAreRefused() throws Exception {
        try (Explainer explainer = Explainer.open(random(Pooling.MEAN), 1)) {
            ExplainException unknown = assertThrows(ExplainException.class, () -> explainer.explain("the cat",
                    new ExplainOptions(ExplainMethod.GRAD_X_INPUT, "maybe", 1)));
            assertTrue(unknown.getMessage().contains("[no, yes]"), unknown.getMessage());
            assertThrows(ExplainException.class, () -> explainer.explain("the cat",
                    new ExplainOptions(ExplainMethod.GRAD_X_INPUT, ExplainOptions.NEXT_TOKEN, 1)));
        }
    }
}
