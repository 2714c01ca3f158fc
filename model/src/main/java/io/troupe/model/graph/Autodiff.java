package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode automatic differentiation over a {@link Graph}: appends the backward pass as
 * ordinary ONNX nodes and returns, for each requested parameter, the tensor holding the
 * gradient of a scalar loss with respect to it.
 *
 * <p>Only nodes that lie on a path from some parameter to the loss are differentiated. A
 * node on such a path whose op has no backward rule is an error naming that node.
 */
public final class Autodiff {
    private Autodiff() {
    }

    /**
     * Emits d(loss)/d(param) for every param.
     *
     * @param loss a scalar floating tensor
     * @param params tensors (usually graph inputs) to differentiate with respect to
     * @return gradients in the order of {@code params}; a param the loss does not depend on
     *     gets zeros
     */
    public static List<Tensor> gradients(Tensor loss, List<Tensor> params) {
        Graph graph = loss.graph();
        if (loss.rank() != 0 || !loss.dtype().isFloating()) {
            throw new GraphException("gradients(): the loss must be a floating scalar, got " + loss);
        }
        List<Node> forward = new ArrayList<>(graph.nodes());
        Set<Tensor> dependsOnParams = new HashSet<>(params);
        for (Node node : forward) {
            for (Tensor in : node.inputs()) {
                if (in != null && dependsOnParams.contains(in)) {
                    for (Tensor out : node.outputs()) {
                        if (out.dtype().isFloating()) {
                            dependsOnParams.add(out);
                        }
                    }
                    break;
                }
            }
        }
        Set<Tensor> reachesLoss = new HashSet<>();
        reachesLoss.add(loss);
        for (int i = forward.size() - 1; i >= 0; i--) {
            Node node = forward.get(i);
            if (node.outputs().stream().anyMatch(reachesLoss::contains)) {
                for (Tensor in : node.inputs()) {
                    if (in != null) {
                        reachesLoss.add(in);
                    }
                }
            }
        }

        GradientContext ctx = new GradientContext(graph);
        Map<Tensor, List<Tensor>> contributions = new LinkedHashMap<>();
        contributions.computeIfAbsent(loss, k -> new ArrayList<>()).add(graph.scalar(loss.dtype(), 1.0));
        Map<Tensor, Tensor> summed = new HashMap<>();

        try (Graph.Scope scope = graph.scope("grad")) {
            for (int i = forward.size() - 1; i >= 0; i--) {
                Node node = forward.get(i);
                boolean onPath = false;
                for (Tensor out : node.outputs()) {
                    if (dependsOnParams.contains(out) && contributions.containsKey(out)) {
                        onPath = true;
                        break;
                    }
                }
                if (!onPath) {
                    continue;
                }
                Graph.CompositeRegion region = node.outputs().size() == 1 ? graph.compositeFor(node.output(0)) : null;
                List<Tensor> inputs;
                List<Tensor> inGrads;
                if (region != null) {
                    inputs = region.inputs();
                    try (Graph.Scope nodeScope = graph.scope(node.name())) {
                        inGrads = region.rule().backward(ctx, total(ctx, node.output(0), contributions, summed));
                    }
                } else {
                    OpSpec spec = OpRegistry.get(node.opType());
                    if (!spec.differentiable()) {
                        throw new GraphException("no gradient rule for " + node + ", which lies between the parameters and '"
                                + loss.name() + "'");
                    }
                    List<Tensor> outGrads = new ArrayList<>(node.outputs().size());
                    for (Tensor out : node.outputs()) {
                        outGrads.add(total(ctx, out, contributions, summed));
                    }
                    inputs = node.inputs();
                    try (Graph.Scope nodeScope = graph.scope(node.name())) {
                        inGrads = spec.backward(ctx, node, outGrads);
                    }
                }
                for (int k = 0; k < inputs.size(); k++) {
                    Tensor in = inputs.get(k);
                    if (in == null || !dependsOnParams.contains(in) || !reachesLoss.contains(in)) {
                        continue;
                    }
                    Tensor g = k < inGrads.size() ? inGrads.get(k) : null;
                    if (g == null) {
                        throw new GraphException("the gradient rule of " + node + " gives no gradient for input " + k
                                + " (" + in + "), which the loss depends on");
                    }
                    if (!g.shape().compatibleWith(in.shape())) {
                        throw new GraphException("the gradient rule of " + node + " produced " + g.type()
                                + " for input " + in + "; the shapes must match");
                    }
                    contributions.computeIfAbsent(in, key -> new ArrayList<>()).add(g);
                }
            }
            List<Tensor> result = new ArrayList<>(params.size());
            for (Tensor p : params) {
                Tensor g = total(ctx, p, contributions, summed);
                result.add(g != null ? g : ctx.zerosLike(p));
            }
            return result;
        }
    }

    private static Tensor total(GradientContext ctx, Tensor t, Map<Tensor, List<Tensor>> contributions,
                                Map<Tensor, Tensor> summed) {
        Tensor done = summed.get(t);
        if (done != null) {
            return done;
        }
        List<Tensor> parts = contributions.get(t);
        if (parts == null || parts.isEmpty()) {
            return null;
        }
        Tensor total = ctx.sum(parts);
        summed.put(t, total);
        return total;
    }
}
