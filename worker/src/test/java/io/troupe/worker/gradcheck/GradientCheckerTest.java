package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.OpRegistry;
import io.troupe.model.graph.Tensor;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The checker's mechanics: coverage, precision fallback, element subsets, error handling. */
class GradientCheckerTest {

    @Test
    void everyDifferentiableOpHasACase() {
        Set<String> covered = OpCases.all().stream().map(OpCase::opType).collect(Collectors.toSet());
        Set<String> missing = new TreeSet<>(OpRegistry.differentiable());
        missing.removeAll(covered);
        assertTrue(missing.isEmpty(), "backward rules without a gradient check: " + missing);
    }

    @Test
    void caseLabelsAreUnique() {
        List<String> labels = OpCases.all().stream().map(OpCase::label).toList();
        assertEquals(labels.size(), new HashSet<>(labels).size(), "duplicate case labels in " + labels);
    }

    @Test
    void fallsBackToFloatOnlyWhereOrtHasNoDoubleKernel() {
        OpCase erf = OpCases.of("Erf").get(0);
        CaseResult r = new GradientChecker().check(erf);
        assertEquals(DType.FLOAT, r.precision());
        assertTrue(r.refused().get(DType.DOUBLE).contains("Erf"), r::describe);
        assertTrue(r.passed(), r::describe);

        CaseResult tanh = new GradientChecker().check(OpCases.of("Tanh").get(0));
        assertEquals(DType.DOUBLE, tanh.precision());
        assertTrue(tanh.refused().isEmpty());
    }

    @Test
    void forcingARefusedPrecisionThrows() {
        OpCase erf = OpCases.of("Erf").get(0);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new GradientChecker().check(erf, DType.DOUBLE));
        assertTrue(e.getMessage().contains("double"), e.getMessage());
    }

    @Test
    void aCaseThatCannotBeBuiltIsAFailureNotAFallback() {
        OpCase bad = OpCase.of("MatMul", "mismatched inner dimensions", ctx -> {
            Tensor a = ctx.param("a", 3, 4);
            Tensor b = ctx.param("b", 5, 6);
            return ctx.probe(a.matMul(b));
        });
        CaseResult r = new GradientChecker().check(bad);
        assertFalse(r.passed());
        assertNotNull(r.error());
        assertTrue(r.error().contains("inner dimensions"), r.error());
        assertTrue(r.refused().isEmpty(), "a build error is not a missing kernel");
        assertTrue(Double.isNaN(r.maxRelativeError()));
    }

    @Test
    void largeParametersAreCheckedOnASeededSubset() {
        GradientChecker checker = new GradientChecker(8, 42, GradientHook.NONE);
        int[] a = checker.pick(1000, "p");
        int[] b = checker.pick(1000, "p");
        int[] other = checker.pick(1000, "q");
        assertEquals(8, a.length);
        assertArrayEquals(a, b, "the subset is reproducible");
        assertFalse(Arrays.equals(a, other), "each parameter gets its own subset");
        assertEquals(8, Arrays.stream(a).distinct().count(), "distinct elements");
        assertTrue(Arrays.stream(a).allMatch(i -> i >= 0 && i < 1000));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, checker.pick(5, "small"), "small parameters completely");

        OpCase big = OpCase.of("MatMul", "subset", ctx -> ctx.probe(ctx.param("a", 10, 10).matMul(ctx.param("b", 10, 3))));
        CaseResult r = checker.check(big);
        assertTrue(r.passed(), r::describe);
        assertEquals(8, r.params().get(0).checked());
        assertEquals(100, r.params().get(0).elements());
        assertEquals(8, r.params().get(1).checked());
        assertEquals(16, r.checkedElements());
    }

    @Test
    void relativeErrorUsesTheFloor() {
        Tolerance t = new Tolerance(1e-5, 1e-6, 1e-3);
        assertEquals(0.01 / 1.01, t.relativeError(1.01, 1.0), 1e-12);
        assertEquals(1e-9 / 1e-3, t.relativeError(2e-9, 1e-9), 1e-15, "tiny values: absolute error / floor");
        assertFalse(t.accepts(Double.NaN));
        assertNull(CaseResult.failed(OpCases.all().get(0), java.util.Map.of(), "x").precision());
    }
}
