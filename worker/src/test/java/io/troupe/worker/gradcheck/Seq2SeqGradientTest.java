package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.graph.DType;
import org.junit.jupiter.api.Test;

/** The gradients of a tiny encoder-decoder (cross-attention, label smoothing, padding on both sides) agree with finite differences. */
class Seq2SeqGradientTest {

    @Test
    void everyParameterOfATinySeq2SeqMatchesInDouble() {
        Seq2SeqCase c = Seq2SeqCase.tiny();
        CaseResult result = new GradientChecker().check(c, DType.DOUBLE);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertEquals(c.config().layout().views().size(), result.params().size(), "every parameter tensor is checked");
        assertTrue(result.params().stream().anyMatch(p -> p.name().equals("dec.h.0.xattn.kv_proj.weight")));
    }
}
