package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A wrong gradient turns the check red. The production rules are left alone: a
 * {@link GradientHook} plants the error in the gradient the graph outputs, which is exactly
 * what a wrong backward rule would produce.
 */
class BrokenRuleTest {

    private static OpCase only(String opType, String name) {
        return OpCases.of(opType).stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    private static CaseResult checkWith(OpCase c, GradientHook hook) {
        CaseResult result = new GradientChecker().withHook(hook).check(c);
        System.out.println(result.describe());
        return result;
    }

    @Test
    void aGradientOffByOnePercentFailsInDouble() {
        OpCase tanh = only("Tanh", "x ~ 1.5 N(0,1)");
        assertTrue(new GradientChecker().check(tanh).passed(), "the unbroken case passes");

        CaseResult broken = checkWith(tanh, (param, g) -> g.mul(1.01));
        assertEquals(DType.DOUBLE, broken.precision());
        assertNull(broken.error());
        assertFalse(broken.passed(), broken::describe);
        assertTrue(broken.maxRelativeError() > 5e-3, broken::describe);
    }

    @Test
    void aWrongSignFailsAndNamesTheParameter() {
        OpCase matMul = only("MatMul", "[B,T,C] x [C,N] weight");
        CaseResult broken = checkWith(matMul, (param, g) -> param.equals("w") ? g.neg() : g);
        assertFalse(broken.passed(), broken::describe);
        ParamResult x = broken.params().get(0);
        ParamResult w = broken.params().get(1);
        assertEquals("x", x.name());
        assertTrue(x.maxRelativeError() < 1e-6, "x's gradient is untouched: " + x);
        assertEquals("w", w.name());
        assertTrue(w.maxRelativeError() > 1, "w's gradient has the wrong sign: " + w);
    }

    @Test
    void anErrorInOneElementIsCaught() {
        // Only element 5 of x's 24 is off, by 1e-4: a mistake confined to one row or column.
        OpCase exp = only("Exp", "normal");
        CaseResult broken = checkWith(exp, (param, g) -> {
            double[] delta = new double[24];
            delta[5] = 1e-4;
            Tensor d = g.graph().constant(TensorData.ofDoubles(delta, 2, 3, 4));
            return g.add(d);
        });
        assertFalse(broken.passed(), broken::describe);
        assertEquals(5, broken.params().get(0).worstIndex());
    }

    @Test
    void aGradientOffByFivePercentFailsInFloat() {
        // Erf has no double kernel in ORT, so this case runs in float32, where the tolerance is 1%.
        OpCase erf = only("Erf", "x ~ 1.5 N(0,1)");
        CaseResult broken = checkWith(erf, (param, g) -> g.mul(1.05));
        assertEquals(DType.FLOAT, broken.precision());
        assertFalse(broken.passed(), broken::describe);
    }

    @Test
    void aBrokenRuleFailsTheWholeReport() {
        OpCase tanh = only("Tanh", "x ~ 1.5 N(0,1)");
        OpCase add = only("Add", "equal shapes");
        GradientChecker broken = new GradientChecker().withHook((param, g) -> g.mul(0.999));
        GradientCheckReport report = GradientCheckSuite.run(broken, List.of(tanh, add), null, r -> { });
        assertFalse(report.passed(), report::summary);
        assertEquals(2, report.failures().size(), report::summary);
    }
}
