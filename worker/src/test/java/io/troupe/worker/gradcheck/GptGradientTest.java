package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.DType;
import org.junit.jupiter.api.Test;

/** The gradients of a whole 2-layer GPT training graph agree with finite differences. */
class GptGradientTest {

    @Test
    void everyParameterOfATinyGptMatchesFiniteDifferences() {
        GptCase gpt = GptCase.tiny();
        CaseResult result = new GradientChecker().check(gpt);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        ParameterLayout layout = ParameterLayout.of(gpt.config());
        assertEquals(layout.views().size(), result.params().size(), "every parameter tensor is checked");
        assertEquals(DType.DOUBLE, result.precision(), "the whole GPT runs in double in ORT");
    }

    @Test
    void anUntiedGptWithoutBiasesMatchesToo() {
        // The other branches of the model: a separate lm_head, and Linears and LayerNorms without bias.
        GptCase gpt = new GptCase(new GptConfig(11, 8, 2, 2, 16, 0.0, false, false), 2, 6, 99);
        CaseResult result = new GradientChecker().check(gpt);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertTrue(result.params().stream().anyMatch(p -> p.name().equals("lm_head.weight")), result::describe);
        assertEquals(ParameterLayout.of(gpt.config()).views().size(), result.params().size());
    }

    @Test
    void aGptRecomputingItsAttentionInTheBackwardPassMatchesToo() {
        // activation_checkpointing=attention replaces the attention's backward with a hand-written one.
        GptCase gpt = GptCase.tinyRecomputingAttention();
        CaseResult result = new GradientChecker().check(gpt);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertEquals(DType.DOUBLE, result.precision());
        assertEquals(ParameterLayout.of(gpt.config()).views().size(), result.params().size());
        assertEquals("gpt_recomputed_attention", gpt.opType());
    }

    @Test
    void floatGptMatchesWithinTheFloatTolerance() {
        CaseResult result = new GradientChecker().check(GptCase.tiny(), DType.FLOAT);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
    }
}
