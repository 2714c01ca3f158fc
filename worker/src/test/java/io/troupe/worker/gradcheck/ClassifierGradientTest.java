package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.model.graph.DType;
import org.junit.jupiter.api.Test;

/** The gradients of a GPT classifier, padded batch and frozen parameters included, agree with finite differences. */
class ClassifierGradientTest {
    private static final GptConfig TINY = new GptConfig(11, 8, 2, 2, 16, 0.0, true, true);

    @Test
    void lastTokenPoolingWithEverythingTrainingMatches() {
        ClassifierCase c = new ClassifierCase(TINY, new ClassifierHead(3, Pooling.LAST), TrainingScope.ALL,
                new long[] {5, 2, 6}, 21);
        CaseResult result = new GradientChecker().check(c);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertEquals(DType.DOUBLE, result.precision());
        assertEquals(ClassifierGraphs.layout(TINY, c.head()).views().size(), result.params().size());
    }

    @Test
    void meanPoolingAboveAFrozenBlockMatchesAndChecksOnlyWhatTrains() {
        ClassifierCase c = new ClassifierCase(TINY, new ClassifierHead(2, Pooling.MEAN), TrainingScope.parse("1", null),
                new long[] {4, 7}, 8);
        CaseResult result = new GradientChecker().check(c);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertTrue(result.params().stream().noneMatch(p -> p.name().startsWith("h.0.") || p.name().equals("wte")));
        assertTrue(result.params().stream().anyMatch(p -> p.name().equals("h.1.mlp.c_fc.weight")));
    }
}
