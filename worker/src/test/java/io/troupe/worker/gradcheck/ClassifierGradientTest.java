package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.LoraConfig;
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
                new long[] {5, 2, 6}, 21, null);
        CaseResult result = new GradientChecker().check(c);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertEquals(DType.DOUBLE, result.precision());
        assertEquals(ClassifierGraphs.layout(TINY, c.head()).views().size(), result.params().size());
    }

    @Test
    void loraAdaptersOnEveryTargetMatchAndAreAllThatTrainsBesideTheHead() {
        LoraConfig lora = new LoraConfig(3, 6, LoraConfig.parseTargets("attn,proj,mlp"), 0);
        ClassifierCase c = new ClassifierCase(TINY, new ClassifierHead(2, Pooling.LAST), TrainingScope.ALL,
                new long[] {6, 3}, 17, lora);
        CaseResult result = new GradientChecker().check(c);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        // 2 blocks x 4 adapted linears x (A, B), and the head's weight and bias.
        assertEquals(2 * 4 * 2 + 2, result.params().size(), result::describe);
        assertTrue(result.params().stream().allMatch(p -> LoraConfig.isAdapter(p.name()) || p.name().startsWith("cls.")));
    }

    @Test
    void meanPoolingAboveAFrozenBlockMatchesAndChecksOnlyWhatTrains() {
        ClassifierCase c = new ClassifierCase(TINY, new ClassifierHead(2, Pooling.MEAN), TrainingScope.parse("1", null),
                new long[] {4, 7}, 8, null);
        CaseResult result = new GradientChecker().check(c);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
        assertTrue(result.params().stream().noneMatch(p -> p.name().startsWith("h.0.") || p.name().equals("wte")));
        assertTrue(result.params().stream().anyMatch(p -> p.name().equals("h.1.mlp.c_fc.weight")));
    }
}
