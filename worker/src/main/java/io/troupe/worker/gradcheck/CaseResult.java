package io.troupe.worker.gradcheck;

import io.troupe.model.graph.DType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The outcome of checking one {@link GradientCase}.
 *
 * @param opType the case's report key
 * @param name the case's name
 * @param precision the precision the check ran in, or null when it could not run
 * @param tolerance how that precision was judged, or null when the check could not run
 * @param params one result per checked parameter
 * @param refused precisions tried first and refused by ONNX Runtime (no kernel), with ORT's reason
 * @param error why the check could not run (a build failure, an ORT error), or null
 */
public record CaseResult(String opType, String name, DType precision, Tolerance tolerance, List<ParamResult> params,
                         Map<DType, String> refused, String error) {

    public CaseResult {
        params = List.copyOf(params);
        refused = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(refused));
    }

    /** A case that could not be checked. */
    static CaseResult failed(GradientCase c, Map<DType, String> refused, String error) {
        return new CaseResult(c.opType(), c.name(), null, null, List.of(), refused, error);
    }

    /** The largest relative error over all parameters; NaN when the check did not run. */
    public double maxRelativeError() {
        if (error != null || params.isEmpty()) {
            return Double.NaN;
        }
        double max = 0;
        for (ParamResult p : params) {
            if (Double.isNaN(p.maxRelativeError())) {
                return Double.NaN;
            }
            max = Math.max(max, p.maxRelativeError());
        }
        return max;
    }

    /** Gradient elements compared with finite differences. */
    public long checkedElements() {
        return params.stream().mapToLong(ParamResult::checked).sum();
    }

    /** True when the check ran and every checked element is within tolerance. */
    public boolean passed() {
        return error == null && !params.isEmpty() && tolerance.accepts(maxRelativeError());
    }

    /** "opType: name". */
    public String label() {
        return opType + ": " + name;
    }

    /** A multi-line account: verdict, precision, then each parameter. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(label()).append(passed() ? " PASSED" : " FAILED");
        if (error != null) {
            sb.append(": ").append(error);
        } else {
            sb.append(String.format(Locale.ROOT, " in %s: max rel err %.3g (tolerance %.1g, h %.1g, floor %.1g)",
                    precision.onnxName(), maxRelativeError(), tolerance.maxRelativeError(), tolerance.step(),
                    tolerance.floor()));
        }
        if (!refused.isEmpty()) {
            sb.append("\n  refused by ONNX Runtime: ").append(refused.entrySet().stream()
                    .map(e -> e.getKey().onnxName() + " (" + e.getValue() + ")").collect(Collectors.joining("; ")));
        }
        for (ParamResult p : params) {
            sb.append("\n  ").append(p);
        }
        return sb.toString();
    }
}
