package io.troupe.ops.explain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.errors.TroupeException;
import io.troupe.model.gpt.Pooling;
import io.troupe.ops.inference.ExportedModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ExplainerTest {
    @TempDir
    Path dir;

    private static ExplainOptions ig(String target, int steps) {
        return new ExplainOptions(ExplainMethod.INTEGRATED_GRADIENTS, target, steps);
    }

    private static double sumAbs(double[] a) {
        double s = 0;
        for (double v : a) {
            s += Math.abs(v);
        }
        return s;
    }

    @ParameterizedTest
    @EnumSource(value = ExplainMethod.class, names = {"GRAD_X_INPUT", "INTEGRATED_GRADIENTS"})
    void aClassifierThatOnlyLooksAtXIsExplainedByTheX(ExplainMethod method) throws Exception {
        try (Explainer explainer = Explainer.open(TinyExports.onlyLooksAtX(dir), 1)) {
            String text = "ab hx.cd";
            Explanation e = explainer.explain(text, new ExplainOptions(method, null, 32));
            assertEquals("yes", e.target(), "an x makes the model say yes");
            assertEquals(text.length(), e.tokens().size());
            int x = text.indexOf('x');
            assertEquals("x", e.tokens().get(x));
            assertTrue(e.attributions()[x] > 1e-3, "x raises the yes logit: " + e.attributions()[x]);
            assertTrue(Math.abs(e.attributions()[x]) > 0.99 * sumAbs(e.attributions()),
                    "the attribution concentrates on x: " + java.util.Arrays.toString(e.attributions()));
            Explanation no = explainer.explain(text, new ExplainOptions(method, "no", 32));
            assertEquals("no", no.target());
            assertTrue(no.attributions()[x] < -1e-3, "x lowers the no logit");
        }
    }

    @Test
    void integratedGradientsSumToTheScoreMinusTheBaselineScore() throws Exception {
        // All of attention, MLPs and LayerNorms count here.
        try (Explainer classifier = Explainer.open(TinyExports.randomClassifier(dir.resolve("c"), Pooling.LAST), 1);
             Explainer lm = Explainer.open(TinyExports.randomLanguageModel(dir.resolve("lm")), 1)) {
            List<Explanation> all = new ArrayList<>();
            all.add(classifier.explain("bad cafe", ig("pos", 64)));
            all.add(lm.explain("bad cafe", ig(null, 64)));
            all.add(lm.explain("bad ", ig("cafe", 64)));
            for (Explanation e : all) {
                double gap = e.score() - e.baselineScore();
                double sum = java.util.Arrays.stream(e.attributions()).sum();
                assertTrue(Math.abs(gap) > 1e-3, "the input and the baseline score differently");
                assertEquals(Math.abs(sum - gap), e.completenessError(), 1e-9);
                // The midpoint rule's error shrinks as 1/steps^2; 1% at 64 steps, float32 throughout.
                assertTrue(e.completenessError() < 0.01 * Math.abs(gap) + 1e-4,
                        "completeness error " + e.completenessError() + " of a gap " + gap + " for " + e.target());
            }
            // Fewer steps, a coarser path integral: the check is not vacuous.
            Explanation coarse = classifier.explain("bad cafe", ig("pos", 1));
            assertTrue(coarse.completenessError() > all.get(0).completenessError());
        }
    }

    @Test
    void aModelsOwnBaselineIsWhereIntegratedGradientsStart() throws Exception {
        Path model = TinyExports.randomLanguageModel(dir);
        ExplainableModel lm = GptLanguageModelExplainable.open(model, ExportedWeights.read(model));
        long dot = TinyExports.tokenizer().encode(".")[0];
        // A "pad" baseline: every attributed token replaced by '.'.
        ExplainableModel padded = new ExplainableModel() {
            @Override
            public io.troupe.model.explain.ScoreModel scoreModel() {
                return lm.scoreModel();
            }

            @Override
            public PreparedText prepare(String text, String target, TargetPredictor predict) throws ai.onnxruntime.OrtException {
                return lm.prepare(text, target, predict);
            }

            @Override
            public float[] embed(long[] ids) {
                return lm.embed(ids);
            }

            @Override
            public float[] baseline(PreparedText prepared) {
                long[] dots = new long[prepared.attributed()];
                java.util.Arrays.fill(dots, dot);
                return lm.embed(dots);
            }

            @Override
            public String baselineDescription() {
                return "'.' embeddings";
            }
        };
        try (Explainer explainer = new Explainer(padded, 1); Explainer plain = new Explainer(lm, 1)) {
            Explanation e = explainer.explain("hex ", ig("ab", 64));
            assertEquals("'.' embeddings", e.baseline());
            double ofDots = plain.explain("....", new ExplainOptions(ExplainMethod.GRAD_X_INPUT, "ab", 1)).score();
            assertEquals(ofDots, e.baselineScore(), 1e-5, "f(b) is the score of the text made of '.'");
            assertEquals(plain.explain("hex ", ig("ab", 8)).score(), e.score(), 1e-5);
            assertTrue(e.completenessError() < 0.01 * Math.abs(e.score() - e.baselineScore()) + 1e-4);
        }
    }

    @Test
    void theNextTokenTargetIsTheLanguageModelsMostLikelyTokenAndItsScoreItsLogProbability() throws Exception {
        Path model = TinyExports.randomLanguageModel(dir);
        String text = "hex cab";
        long[] ids = new long[text.length()];
        int[] encoded = TinyExports.tokenizer().encode(text);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = encoded[i];
        }
        int v = TinyExports.TINY.vocabSize();
        float[] logits;
        try (ExportedModel m = ExportedModel.open(model, 1)) {
            logits = m.logits(ids, 1, ids.length);
        }
        int from = (ids.length - 1) * v;
        int best = 0;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) {
            if (logits[from + j] > max) {
                max = logits[from + j];
                best = j;
            }
        }
        double sum = 0;
        for (int j = 0; j < v; j++) {
            sum += Math.exp(logits[from + j] - max);
        }
        try (Explainer explainer = Explainer.open(model, 1)) {
            Explanation e = explainer.explain(text, new ExplainOptions(ExplainMethod.GRAD_X_INPUT, "next-token", 1));
            assertEquals(TinyExports.tokenizer().decode(new int[] {best}), e.target());
            assertEquals(-Math.log(sum), e.score(), 1e-4);
            assertEquals(text.length(), e.tokens().size());
        }
    }

    @Test
    void attentionRolloutGivesAFlowThatSumsToOne() throws Exception {
        try (Explainer explainer = Explainer.open(TinyExports.randomClassifier(dir, Pooling.MEAN), 1)) {
            Explanation e = explainer.explain("fade hex", new ExplainOptions(ExplainMethod.ATTENTION_ROLLOUT, null, 1));
            assertEquals(1.0, java.util.Arrays.stream(e.attributions()).sum(), 1e-5);
            for (double a : e.attributions()) {
                assertTrue(a >= 0);
            }
            Explanation one = explainer.explain("f", new ExplainOptions(ExplainMethod.ATTENTION_ROLLOUT, null, 1));
            assertEquals(1.0, one.attributions()[0], 1e-6, "one token: all the flow is its own");
        }
    }

    @Test
    void aTextLongerThanTheContextIsTruncatedAndSaysSo() throws Exception {
        try (Explainer classifier = Explainer.open(TinyExports.randomClassifier(dir.resolve("c"), Pooling.LAST), 1);
             Explainer lm = Explainer.open(TinyExports.randomLanguageModel(dir.resolve("lm")), 1)) {
            String text = "abcdefgh abc";    // 12 tokens, context 8
            Explanation c = classifier.explain(text, ig(null, 4));
            assertEquals(List.of("a", "b", "c", "d", "e", "f", "g", "h"), c.tokens(), "a classifier keeps the start");
            assertEquals(4, c.truncated());
            Explanation next = lm.explain(text, ig(null, 4));
            assertEquals(List.of("f", "g", "h", " ", "a", "b", "c"), next.tokens().subList(1, 8));
            assertEquals(4, next.truncated(), "a language model keeps the end");
            Explanation cont = lm.explain(text, ig("xx.", 4));
            assertEquals(6, cont.tokens().size(), "the continuation but its last token takes 2 of the 8 positions");
            assertEquals(6, cont.truncated());
        }
    }

    @Test
    void requestsTheModelCannotAnswerAreUsageErrorsNamingTheFix() throws Exception {
        try (Explainer classifier = Explainer.open(TinyExports.randomClassifier(dir.resolve("c"), Pooling.LAST), 1);
             Explainer lm = Explainer.open(TinyExports.randomLanguageModel(dir.resolve("lm")), 1)) {
            ExplainException unknown = assertThrows(ExplainException.class, () -> classifier.explain("abc", ig("maybe", 4)));
            assertTrue(unknown.getMessage().contains("no label 'maybe'") && unknown.getMessage().contains("[neg, neutral, pos]"),
                    unknown.getMessage());
            assertEquals(TroupeException.Kind.USAGE, unknown.kind());
            assertEquals("target", unknown.param());
            ExplainException noNext = assertThrows(ExplainException.class,
                    () -> classifier.explain("abc", ig("next-token", 4)));
            assertTrue(noNext.getMessage().contains("no next token"), noNext.getMessage());
            assertEquals("text", assertThrows(ExplainException.class, () -> lm.explain("", ig(null, 4))).param());
            ExplainException unknownChars = assertThrows(ExplainException.class, () -> lm.explain("abc", ig("zzz", 4)));
            assertTrue(unknownChars.getMessage().contains("continuation cannot be encoded"), unknownChars.getMessage());
            ExplainException tooLong = assertThrows(ExplainException.class, () -> lm.explain("abc", ig("abcdefghx", 4)));
            assertTrue(tooLong.getMessage().contains("has 9 tokens"), tooLong.getMessage());
            assertThrows(ExplainException.class, () -> classifier.explain("zzz", ig(null, 4)));
            assertThrows(ExplainException.class, () -> ExplainMethod.parse("shap"));
            assertThrows(ExplainException.class, () -> ig(null, 0));
        }
    }

    @Test
    void theJsonHasExactlyTheDocumentedFields() throws Exception {
        try (Explainer explainer = Explainer.open(TinyExports.onlyLooksAtX(dir), 1)) {
            ObjectNode o = explainer.explain("ax", ig("yes", 8)).toJson(new ObjectMapper());
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            assertEquals(List.of("tokens", "attributions", "target", "score", "baseline_score", "completeness_error"), names);
            assertEquals(2, o.get("attributions").size());
            String html = ExplanationHtml.render(new Explanation(List.of("<script>", "b"), new double[] {2, -1}, "a&b",
                    0.5, Explanation.ZERO_BASELINE, 0.1, 0.01, ExplainMethod.INTEGRATED_GRADIENTS, 0));
            assertTrue(html.contains("&lt;script&gt;") && !html.contains("<script>") && html.contains("a&amp;b"), html);
            assertTrue(html.contains("rgba(220,40,40,1.000)"), "the strongest positive token is full red");
            assertTrue(html.contains("rgba(40,90,220,0.500)"), "a negative token half as strong is half blue");
        }
    }
}
