package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts a part out of a built graph as a graph of its own: the given nodes, the initializers they
 * read, one input for every other value they read (a graph input of the source, or a value some
 * other part computes) and the requested outputs. Every value keeps its name, so the output of
 * one part feeds the input of the same name of another.
 *
 * <p>Each copied node is the same op with the same attributes on the same values, so a part
 * computes bit for bit what those nodes computed in the whole graph; splitting a training graph
 * into stages (forward, then the backward pass bucket by bucket) changes when results become
 * available, not what they are.
 */
public final class Subgraph {
    private Subgraph() {
    }

    /**
     * @param source the graph the nodes belong to
     * @param name the new graph's name
     * @param nodes nodes of {@code source}, in an order where each comes after the nodes of this
     *     list it reads from (the source's own order is one)
     * @param outputs the new graph's outputs by name: values of {@code source} that the nodes
     *     compute or read
     */
    public static Graph extract(Graph source, String name, List<Node> nodes, Map<String, Tensor> outputs) {
        Graph part = new Graph(name);
        Map<Tensor, Tensor> copies = new HashMap<>();
        for (Node node : nodes) {
            List<Tensor> inputs = new ArrayList<>(node.inputs().size());
            for (Tensor in : node.inputs()) {
                inputs.add(in == null ? null : resolve(source, part, in, copies));
            }
            List<Tensor> outs = part.copyNode(node, inputs);
            for (int i = 0; i < outs.size(); i++) {
                copies.put(node.output(i), outs.get(i));
            }
        }
        for (Map.Entry<String, Tensor> out : outputs.entrySet()) {
            part.output(out.getKey(), resolve(source, part, out.getValue(), copies));
        }
        source.metadata().forEach(part::metadata);
        return part;
    }

    /** This part's copy of {@code t}: an initializer copied over, or a new input for any other outside value. */
    private static Tensor resolve(Graph source, Graph part, Tensor t, Map<Tensor, Tensor> copies) {
        Tensor copy = copies.get(t);
        if (copy != null) {
            return copy;
        }
        if (t.graph() != source) {
            throw new GraphException("Subgraph: " + t + " belongs to another graph than '" + source.name() + "'");
        }
        if (t.producer() == null && t.constant() != null) {
            copy = part.initializer(t.name(), t.constant());
        } else {
            copy = part.input(t.name(), t.dtype(), t.shape());
        }
        copies.put(t, copy);
        return copy;
    }
}
