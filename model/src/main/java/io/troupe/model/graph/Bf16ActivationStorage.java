package io.troupe.model.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Keeps the activations a training graph's backward pass reads in bfloat16 instead of float32,
 * while every op still computes in float32 (precision {@code bf16-storage}).
 *
 * <p>For each float32 tensor {@code t} that a forward node produces and a backward node reads,
 * the rewrite adds, right after t's producer, {@code down = Cast(t, bfloat16)} and
 * {@code up = Cast(down, float)}, and makes every forward reader of t read {@code up}; just
 * before t's first backward reader it adds a second {@code Cast(down, float)} that every
 * backward reader reads. So t's only reader is {@code down}, and ONNX Runtime frees t (and,
 * after the forward's readers, {@code up}) as soon as the forward is done with it: what stays
 * alive from the forward to the backward pass is the 2-byte {@code down}.
 *
 * <p>Why the forward reads the rounded copy too, not t itself: ONNX Runtime orders nodes by a
 * depth-first walk from the outputs, so a Cast read only by the backward pass would be run only
 * when the backward pass needs it, and t would stay alive in float32 until then (no saving). A
 * forward reader of {@code down} forces the Cast to run in the forward pass. It also keeps the
 * forward and backward passes consistent: the gradient is that of the function the forward
 * computed. The cost is one bfloat16 rounding (relative 2^-9) of each saved activation.
 *
 * <p>The backward's copy is {@code Reshape(Cast(Reshape(down, [-1]), float), shape of t)}, not a
 * second {@code Cast(down, float)}: ONNX Runtime's common-subexpression elimination merges two
 * identical Casts of {@code down} (also when one spells out the default attribute
 * {@code saturate = 1}: ORT fills defaults in first), and the merged float32 tensor would live
 * from the forward to the backward pass again. The Reshapes are free (ORT's CPU Reshape aliases
 * its input). Scalars and tensors of unknown shape are left in float32 (the step graphs have
 * none worth storing).
 */
public final class Bf16ActivationStorage {
    private Bf16ActivationStorage() {
    }

    /**
     * Rewrites {@code graph} in place.
     *
     * @param forwardNodes how many of the graph's first nodes are the forward pass (and loss);
     *     the rest are the backward pass
     * @return how many activations are now stored in bfloat16
     */
    public static int apply(Graph graph, int forwardNodes) {
        List<Node> nodes = new ArrayList<>(graph.nodes());
        if (forwardNodes < 0 || forwardNodes > nodes.size()) {
            throw new GraphException("forwardNodes must be in [0, " + nodes.size() + "], got " + forwardNodes);
        }
        Map<Node, Integer> position = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            position.put(nodes.get(i), i);
        }
        Set<Tensor> graphOutputs = new HashSet<>(graph.outputs().values());
        // Only nodes some output depends on: a gradient rule's unused half (the gradient of a
        // constant) is dead code that ORT drops, and what it alone reads need not be stored.
        Set<Node> live = new HashSet<>();
        ArrayDeque<Node> pending = new ArrayDeque<>();
        for (Tensor o : graphOutputs) {
            if (o.producer() != null) {
                pending.add(o.producer());
            }
        }
        while (!pending.isEmpty()) {
            Node n = pending.pop();
            if (live.add(n)) {
                for (Tensor in : n.inputs()) {
                    if (in != null && in.producer() != null) {
                        pending.add(in.producer());
                    }
                }
            }
        }
        // Each saved activation and the backward nodes that read it, in order of first read.
        Map<Tensor, List<Node>> saved = new LinkedHashMap<>();
        for (int i = forwardNodes; i < nodes.size(); i++) {
            Node reader = nodes.get(i);
            if (reader.opType().equals("Shape") || !live.contains(reader)) {
                continue;                           // reads the shape only, which stays known; or dead
            }
            for (Tensor in : reader.inputs()) {
                if (in != null && in.dtype() == DType.FLOAT && in.producer() != null && in.rank() > 0
                        && in.shape().isStatic() && position.get(in.producer()) < forwardNodes
                        && !graphOutputs.contains(in)) {
                    List<Node> readers = saved.computeIfAbsent(in, k -> new ArrayList<>());
                    if (!readers.contains(reader)) {
                        readers.add(reader);
                    }
                }
            }
        }
        Map<Node, List<Node>> after = new HashMap<>();      // producer -> its down (and up) Casts
        Map<Node, List<Node>> before = new HashMap<>();     // first backward reader -> the backward Cast
        try (Graph.Scope s = graph.scope("bf16")) {
            for (Map.Entry<Tensor, List<Node>> e : saved.entrySet()) {
                Tensor t = e.getKey();
                Tensor down = t.cast(DType.BFLOAT16);
                List<Node> placed = after.computeIfAbsent(t.producer(), k -> new ArrayList<>());
                placed.add(down.producer());
                Tensor forwardCopy = null;
                for (int i = position.get(t.producer()) + 1; i < forwardNodes; i++) {
                    Node reader = nodes.get(i);
                    for (int k = 0; k < reader.inputs().size(); k++) {
                        if (reader.input(k) == t) {
                            if (forwardCopy == null) {
                                forwardCopy = down.cast(DType.FLOAT);
                                placed.add(forwardCopy.producer());
                            }
                            reader.replaceInput(k, forwardCopy);
                        }
                    }
                }
                // Flattened, cast, shaped back: not the forward's Cast(down) node, so ORT cannot merge them.
                long[] sizes = t.shape().sizes();
                Tensor flat = sizes.length == 1 ? down.reshape(1, -1) : down.reshape(-1);
                Tensor backwardCopy = flat.cast(DType.FLOAT).reshape(sizes);
                List<Node> first = before.computeIfAbsent(e.getValue().get(0), k -> new ArrayList<>());
                first.add(flat.producer());
                first.add(backwardCopy.producer().input(0).producer());
                first.add(backwardCopy.producer());
                for (Node reader : e.getValue()) {
                    for (int k = 0; k < reader.inputs().size(); k++) {
                        if (reader.input(k) == t) {
                            reader.replaceInput(k, backwardCopy);
                        }
                    }
                }
            }
        }
        List<Node> order = new ArrayList<>(graph.nodes().size());
        for (Node node : nodes) {
            order.addAll(before.getOrDefault(node, List.of()));
            order.add(node);
            order.addAll(after.getOrDefault(node, List.of()));
        }
        graph.reorderNodes(order);
        return saved.size();
    }
}
