package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.graph.DType;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every op case's analytic gradients agree with central finite differences. */
class OpGradientTest {
    private static final GradientChecker CHECKER = new GradientChecker();

    static Stream<OpCase> cases() {
        return OpCases.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void backwardRuleMatchesFiniteDifferences(OpCase c) {
        CaseResult result = CHECKER.check(c);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
    }

    static Stream<OpCase> doubleCasesWithAFloatOnlyPath() {
        // Rules that emit different nodes in float32: SoftmaxCrossEntropyLoss uses OneHot there.
        return OpCases.of("SoftmaxCrossEntropyLoss").stream();
    }

    @ParameterizedTest(name = "float32: {0}")
    @MethodSource("doubleCasesWithAFloatOnlyPath")
    void float32PathOfTheRuleMatchesToo(OpCase c) {
        CaseResult result = CHECKER.check(c, DType.FLOAT);
        System.out.println(result.describe());
        assertTrue(result.passed(), result::describe);
    }
}
