package io.troupe.worker.gradcheck;

import io.troupe.model.graph.Autodiff;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A gradient case built from a body: the body declares parameters and builds a scalar loss on a
 * {@link CaseContext}; the case appends {@link Autodiff#gradients} and the outputs
 * {@code loss} and {@code grad.<param>}.
 *
 * @param opType the op the case checks (its report key)
 * @param name what distinguishes the case among those of its op
 * @param precisions precisions to try, most accurate first
 * @param freshSessionPerRun see {@link GradientCase#freshSessionPerRun}
 * @param body builds the loss
 */
public record OpCase(String opType, String name, List<DType> precisions, boolean freshSessionPerRun, Body body,
                     Tolerance doubleTolerance) implements GradientCase {

    /** Builds a scalar loss from parameters declared on the context. */
    @FunctionalInterface
    public interface Body {
        Tensor build(CaseContext ctx);
    }

    public OpCase {
        Objects.requireNonNull(opType, "opType");
        Objects.requireNonNull(name, "name");
        precisions = List.copyOf(precisions);
        Objects.requireNonNull(body, "body");
        if (precisions.isEmpty()) {
            throw new IllegalArgumentException(opType + ": " + name + ": at least one precision is needed");
        }
    }

    /** A case with the default tolerances. */
    public OpCase(String opType, String name, List<DType> precisions, boolean freshSessionPerRun, Body body) {
        this(opType, name, precisions, freshSessionPerRun, body, null);
    }

    /** A case tried in double, then float32. */
    public static OpCase of(String opType, String name, Body body) {
        return new OpCase(opType, name, List.of(DType.DOUBLE, DType.FLOAT), false, body);
    }

    /** This case with another precision list. */
    public OpCase onlyIn(DType... precisions) {
        return new OpCase(opType, name, List.of(precisions), freshSessionPerRun, body, doubleTolerance);
    }

    /** This case, run with a fresh session per evaluation. */
    public OpCase withFreshSessions() {
        return new OpCase(opType, name, precisions, true, body, doubleTolerance);
    }

    /** This case, judged in double by {@code tolerance} (an op whose ORT forward is not exact). */
    public OpCase withDoubleTolerance(Tolerance tolerance) {
        return new OpCase(opType, name, precisions, freshSessionPerRun, body, tolerance);
    }

    @Override
    public Tolerance tolerance(DType precision) {
        return precision == DType.DOUBLE && doubleTolerance != null ? doubleTolerance : Tolerance.defaultFor(precision);
    }

    /** The seed of the case's values: a function of its label only, so it is the same in every precision. */
    long seed() {
        return label().hashCode() * 0x9E3779B97F4A7C15L;
    }

    @Override
    public CheckableModel build(DType precision, GradientHook hook) {
        Graph graph = new Graph(("gradcheck " + opType + " " + name).replaceAll("[^A-Za-z0-9_.-]+", "_"));
        CaseContext ctx = new CaseContext(graph, precision, seed());
        Tensor loss = body.build(ctx);
        if (ctx.parameterTensors().isEmpty()) {
            throw new IllegalStateException(label() + ": the body declared no parameters");
        }
        List<Tensor> grads = Autodiff.gradients(loss, ctx.parameterTensors());
        graph.output(CheckableModel.LOSS, loss);
        List<CheckableModel.Parameter> params = new ArrayList<>(ctx.parameters());
        for (int i = 0; i < params.size(); i++) {
            String param = params.get(i).name();
            graph.output(CheckableModel.gradName(param), hook.apply(param, grads.get(i)));
        }
        return new CheckableModel(graph.toBytes(), precision, java.util.Map.of(), params);
    }

    @Override
    public String toString() {
        return label();
    }
}
