package io.troupe.worker.gradcheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.OpRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The report's aggregation and its JSON. */
class GradientCheckReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static CaseResult result(String op, String name, DType precision, double err, int checked) {
        Tolerance t = Tolerance.defaultFor(precision);
        return new CaseResult(op, name, precision, t, List.of(new ParamResult("x", checked, checked, err, 0, 1, 1)),
                Map.of(), null);
    }

    @Test
    void aggregatesPerOpAndRendersTheCliJson() throws Exception {
        GradientCheckReport report = new GradientCheckReport(List.of(
                result("Add", "a", DType.DOUBLE, 1e-9, 10),
                result("Add", "b", DType.DOUBLE, 3e-8, 5),
                result("Erf", "a", DType.FLOAT, 2e-4, 24)),
                result("gpt", "tiny", DType.DOUBLE, 1.5e-7, 100));
        assertTrue(report.passed(), report::summary);
        assertEquals(139, report.checkedParams());
        assertEquals(Map.of("Add", "double", "Erf", "float"), report.opPrecisions());

        JsonNode json = JSON.readTree(report.toJson());
        assertEquals(Set.of("ops", "gpt", "checked_params"), fieldNames(json));
        assertEquals(3e-8, json.get("ops").get("Add").asDouble(), 0);
        assertEquals(2e-4, json.get("ops").get("Erf").asDouble(), 0);
        assertEquals(1.5e-7, json.get("gpt").asDouble(), 0);
        assertEquals(139, json.get("checked_params").asLong());
    }

    @Test
    void aFailedOrUnrunnableCaseFailsTheReportAndIsNullInTheJson() throws Exception {
        GradientCheckReport tooLarge = new GradientCheckReport(List.of(result("Add", "a", DType.DOUBLE, 2e-6, 3)),
                result("gpt", "tiny", DType.DOUBLE, 1e-8, 3));
        assertFalse(tooLarge.passed());

        CaseResult broken = CaseResult.failed(OpCase.of("Mul", "x", ctx -> null), Map.of(), "ORT said no");
        GradientCheckReport report = new GradientCheckReport(List.of(result("Mul", "y", DType.DOUBLE, 1e-9, 3),
                broken), null);
        assertFalse(report.passed());
        JsonNode json = JSON.readTree(report.toJson());
        assertTrue(json.get("ops").get("Mul").isNull());
        assertTrue(json.get("gpt").isNull(), "no GPT was run");
        JsonNode detailed = JSON.readTree(report.toDetailedJson());
        assertFalse(detailed.get("passed").asBoolean());
        assertEquals("ORT said no", detailed.get("cases").get(1).get("error").asText());
    }

    @Test
    void theFullSuitePassesAndCoversEveryRule() throws Exception {
        GradientCheckReport report = GradientCheckSuite.run();
        System.out.println(report.summary());
        System.out.println(report.toJson());
        assertTrue(report.passed(), report::summary);
        JsonNode json = JSON.readTree(report.toJson());
        Set<String> ops = fieldNames(json.get("ops"));
        assertTrue(ops.containsAll(OpRegistry.differentiable()), "ops " + ops);
        assertTrue(json.get("gpt").asDouble() <= Tolerance.DOUBLE.maxRelativeError());
        assertTrue(json.get("checked_params").asLong() > 1000);
        assertEquals(GradientCheckSuite.caseCount(), report.opResults().size() + 1);
    }

    private static Set<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return new TreeSet<>(names);
    }
}
