package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.model.graph.DType;
import org.junit.jupiter.api.Test;

/** The gradients of tiny BERT-style encoders (MLM loss, and as a padded classifier) agree with finite differences. */
class EncoderGradientTest {
    /** tanh GELU so the check runs in double (ORT has no double Erf). */
    private static final EncoderConfig TINY = new EncoderConfig(11, 8, 2, 2, 2, 8, 16, 0.0, false, "tanh", 1e-12, false);

    @Test
    void everyMlmCaseOfTheSuitePassesOnEveryParameter() {
        for (EncoderCase c : EncoderCase.tiny()) {
            CaseResult result = new GradientChecker().check(c);
            System.out.println(result.describe());
            assertTrue(result.passed(), result::describe);
            assertEquals(c.config().layout().views().size(), result.params().size(), result::describe);
        }
    }

    @Test
    void aPaddedEncoderClassifierWithMeanPoolingMatchesInDouble() {
        ClassifierCase c = new ClassifierCase(TINY, new ClassifierHead(3, Pooling.MEAN), TrainingScope.ALL,
                new long[] {5, 2, 7}, 12, null);
        CaseResult result = new GradientChecker().check(c);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertEquals(DType.DOUBLE, result.precision());
        assertTrue(result.params().stream().anyMatch(p -> p.name().equals("wtt")));
        assertTrue(result.params().stream().anyMatch(p -> p.name().equals("ln_emb.weight")));
    }

    @Test
    void loraOnAnEncoderTrainsOnlyTheAdaptersAndTheHead() {
        LoraConfig lora = new LoraConfig(2, 4, LoraConfig.parseTargets("attn,mlp"), 0);
        ClassifierCase c = new ClassifierCase(TINY, new ClassifierHead(2, Pooling.MEAN), TrainingScope.ALL,
                new long[] {6, 3}, 9, lora);
        CaseResult result = new GradientChecker().check(c);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertEquals(2 * 3 * 2 + 2, result.params().size(), result::describe);
    }

    @Test
    void freezingEmbeddingsFreezesTheTokenTypeTableAndEmbeddingLayerNormToo() {
        ClassifierCase c = new ClassifierCase(TINY, new ClassifierHead(2, Pooling.MEAN),
                TrainingScope.parse("embeddings", null), new long[] {4, 6}, 3, null);
        CaseResult result = new GradientChecker().check(c);
        assertTrue(result.passed(), result::describe);
        assertTrue(result.params().stream().noneMatch(p -> p.name().equals("wtt") || p.name().startsWith("ln_emb")
                || p.name().equals("wte") || p.name().equals("wpe")), result::describe);
    }
}
