package io.troupe.worker.gradcheck;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.model.graph.DType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The outcome of a gradient-check run: per op type the largest relative error over its cases
 * and the precision it ran in, the GPT's largest error, and the number of gradient elements
 * compared with finite differences.
 *
 * <p>{@link #toJson()} renders the object {@code ./troupe gradcheck --json} prints:
 * <pre>{"ops": {"Add": 8.5e-10, ...}, "gpt": 1.4e-07, "checked_params": 4321}</pre>
 * where an op or GPT whose check could not run has {@code null}. The command exits 0 exactly
 * when {@link #passed()}.
 */
public final class GradientCheckReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<CaseResult> opResults;
    private final CaseResult gpt;

    /**
     * @param opResults results of the op cases
     * @param gpt result of the GPT case, or null when it was not run
     */
    public GradientCheckReport(List<CaseResult> opResults, CaseResult gpt) {
        this.opResults = List.copyOf(opResults);
        this.gpt = gpt;
    }

    public List<CaseResult> opResults() {
        return opResults;
    }

    public Optional<CaseResult> gpt() {
        return Optional.ofNullable(gpt);
    }

    /** Per op type (sorted), the largest relative error of its cases; NaN if one could not run. */
    public Map<String, Double> opErrors() {
        Map<String, Double> out = new TreeMap<>();
        for (CaseResult r : opResults) {
            out.merge(r.opType(), r.maxRelativeError(), GradientCheckReport::maxOrNaN);
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * Per op type (sorted), the precisions its cases ran in ("double", "float", or
     * "double+float" when they differ); "none" when no case of the op could run.
     */
    public Map<String, String> opPrecisions() {
        Map<String, TreeSet<DType>> used = new TreeMap<>();
        for (CaseResult r : opResults) {
            TreeSet<DType> set = used.computeIfAbsent(r.opType(), k -> new TreeSet<>());
            if (r.precision() != null) {
                set.add(r.precision());
            }
        }
        Map<String, String> out = new TreeMap<>();
        used.forEach((op, set) -> out.put(op, precisionName(set)));
        return Collections.unmodifiableMap(out);
    }

    /** Op types whose cases ORT refused to run in double, with its reason. */
    public Map<String, String> refusedDouble() {
        Map<String, String> out = new TreeMap<>();
        for (CaseResult r : opResults) {
            String reason = r.refused().get(DType.DOUBLE);
            if (reason != null) {
                out.putIfAbsent(r.opType(), reason);
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** The GPT's largest relative error; NaN when it was not run or could not run. */
    public double gptError() {
        return gpt == null ? Double.NaN : gpt.maxRelativeError();
    }

    /** Gradient elements compared with finite differences, over all op cases and the GPT. */
    public long checkedParams() {
        long n = opResults.stream().mapToLong(CaseResult::checkedElements).sum();
        return n + (gpt == null ? 0 : gpt.checkedElements());
    }

    /** The cases that failed or could not run. */
    public List<CaseResult> failures() {
        List<CaseResult> out = new ArrayList<>();
        for (CaseResult r : opResults) {
            if (!r.passed()) {
                out.add(r);
            }
        }
        if (gpt != null && !gpt.passed()) {
            out.add(gpt);
        }
        return out;
    }

    /** True when every case, including the GPT if it was run, is within its tolerance. */
    public boolean passed() {
        return !opResults.isEmpty() && failures().isEmpty();
    }

    /** The JSON object of {@code ./troupe gradcheck --json}, on one line. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode ops = root.putObject("ops");
        opErrors().forEach((op, err) -> putNumber(ops, op, err));
        putNumber(root, "gpt", gptError());
        root.put("checked_params", checkedParams());
        return write(root);
    }

    /**
     * Everything behind {@link #toJson()}: per case its precision, tolerance, error, checked
     * elements and any precision ORT refused; plus the overall verdict.
     */
    public String toDetailedJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("passed", passed());
        root.put("checked_params", checkedParams());
        ArrayNode cases = root.putArray("cases");
        for (CaseResult r : opResults) {
            cases.add(caseNode(r));
        }
        if (gpt != null) {
            root.set("gpt", caseNode(gpt));
        }
        return write(root);
    }

    /** A human-readable table: one line per op type, then the GPT, then each failure in full. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        Map<String, String> precisions = opPrecisions();
        opErrors().forEach((op, err) -> sb.append(String.format(java.util.Locale.ROOT, "%-26s %-12s %s%n", op,
                precisions.get(op), Double.isNaN(err) ? "error" : String.format(java.util.Locale.ROOT, "%.2e", err))));
        if (gpt != null) {
            sb.append(String.format(java.util.Locale.ROOT, "%-26s %-12s %s%n", "gpt",
                    gpt.precision() == null ? "none" : gpt.precision().onnxName(),
                    Double.isNaN(gptError()) ? "error" : String.format(java.util.Locale.ROOT, "%.2e", gptError())));
        }
        sb.append(checkedParams()).append(" gradient elements checked; ")
                .append(passed() ? "all within tolerance" : failures().size() + " case(s) FAILED").append('\n');
        for (CaseResult f : failures()) {
            sb.append(f.describe()).append('\n');
        }
        return sb.toString();
    }

    private static ObjectNode caseNode(CaseResult r) {
        ObjectNode n = JSON.createObjectNode();
        n.put("op", r.opType());
        n.put("case", r.name());
        n.put("passed", r.passed());
        if (r.precision() == null) {
            n.putNull("precision");
        } else {
            n.put("precision", r.precision().onnxName());
        }
        putNumber(n, "max_rel_err", r.maxRelativeError());
        if (r.tolerance() != null) {
            n.put("tolerance", r.tolerance().maxRelativeError());
            n.put("step", r.tolerance().step());
            n.put("floor", r.tolerance().floor());
        }
        n.put("checked", r.checkedElements());
        if (!r.refused().isEmpty()) {
            ObjectNode refused = n.putObject("refused");
            r.refused().forEach((d, why) -> refused.put(d.onnxName(), why));
        }
        if (r.error() != null) {
            n.put("error", r.error());
        }
        return n;
    }

    private static String precisionName(TreeSet<DType> set) {
        if (set.isEmpty()) {
            return "none";
        }
        return set.stream().map(DType::onnxName).sorted().collect(Collectors.joining("+"));
    }

    private static double maxOrNaN(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.max(a, b);
    }

    private static void putNumber(ObjectNode node, String key, double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            node.putNull(key);
        } else {
            node.put(key, value);
        }
    }

    private static String write(ObjectNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("could not render the gradient-check report", e);
        }
    }

    @Override
    public String toString() {
        return summary();
    }
}
