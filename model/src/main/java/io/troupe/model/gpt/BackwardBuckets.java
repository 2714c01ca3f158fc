package io.troupe.model.gpt;

import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Node;
import io.troupe.model.graph.Subgraph;
import io.troupe.model.graph.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cuts a built GPT training graph into stages by block, last block first (see
 * {@link StagedTrainingGraph}). Autodiff names each backward node after the forward node it
 * differentiates ({@code grad/h.3/attn/...}), which says its block; a backward node of no block
 * (the loss, the head, ln_f, the sums of gradient contributions) goes with the latest stage among
 * the nodes it reads, and the embeddings' backward with the last stage. A node is never placed in
 * an earlier stage than a node it reads, so the stages can run in order.
 */
final class BackwardBuckets {
    private static final Pattern BLOCK = Pattern.compile("^grad/h\\.(\\d+)/");
    private static final String EMBED = "grad/embed/";

    private BackwardBuckets() {
    }

    static StagedTrainingGraph split(TrainingGraph whole, int forwardNodes, int layers, int buckets) {
        if (buckets < 1 || buckets > layers) {
            throw new IllegalArgumentException("the backward pass splits into 1 to n_layer = " + layers
                    + " buckets, got " + buckets);
        }
        int blocksPerBucket = (layers + buckets - 1) / buckets;
        int lastStage = (layers - 1) / blocksPerBucket;
        Graph graph = whole.graph();
        List<Node> nodes = graph.nodes();
        Map<Node, Integer> stageOf = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            Node node = nodes.get(i);
            int stage = 0;
            if (i >= forwardNodes) {
                stage = namedStage(node.name(), layers, blocksPerBucket, lastStage);
                for (Tensor in : node.inputs()) {
                    if (in != null && in.producer() != null) {
                        stage = Math.max(stage, stageOf.get(in.producer()));
                    }
                }
            }
            stageOf.put(node, stage);
        }
        List<List<Node>> members = new ArrayList<>();
        for (int s = 0; s <= lastStage; s++) {
            members.add(new ArrayList<>());
        }
        for (Node node : nodes) {
            members.get(stageOf.get(node)).add(node);
        }
        // Values read in a later stage than the one computing them cross between stages.
        List<Set<String>> receives = new ArrayList<>();
        List<Map<String, Tensor>> outputs = new ArrayList<>();
        for (int s = 0; s <= lastStage; s++) {
            receives.add(new LinkedHashSet<>());
            outputs.add(new LinkedHashMap<>());
        }
        for (Node node : nodes) {
            int stage = stageOf.get(node);
            for (Tensor in : node.inputs()) {
                if (in != null && in.producer() != null && stageOf.get(in.producer()) < stage) {
                    receives.get(stage).add(in.name());
                    outputs.get(stageOf.get(in.producer())).put(in.name(), in);
                }
            }
        }
        List<List<String>> gradients = new ArrayList<>();
        for (int s = 0; s <= lastStage; s++) {
            gradients.add(new ArrayList<>());
        }
        for (Map.Entry<String, Tensor> out : graph.outputs().entrySet()) {
            Tensor value = out.getValue();
            int stage = value.producer() == null ? 0 : stageOf.get(value.producer());
            outputs.get(stage).put(out.getKey(), value);
            if (out.getKey().startsWith(TrainingGraph.GRADIENT_PREFIX)) {
                gradients.get(stage).add(out.getKey().substring(TrainingGraph.GRADIENT_PREFIX.length()));
            }
        }
        List<StagedTrainingGraph.Stage> stages = new ArrayList<>();
        for (int s = 0; s <= lastStage; s++) {
            List<String> sends = new ArrayList<>();
            for (String name : outputs.get(s).keySet()) {
                if (!name.equals(TrainingGraph.LOSS) && !name.startsWith(TrainingGraph.GRADIENT_PREFIX)) {
                    sends.add(name);
                }
            }
            Graph part = Subgraph.extract(graph, graph.name() + "_stage" + s, members.get(s), outputs.get(s));
            stages.add(new StagedTrainingGraph.Stage(part, gradients.get(s), List.copyOf(receives.get(s)), sends));
        }
        return new StagedTrainingGraph(stages, whole.layout(), whole.batch(), whole.seqLen());
    }

    /** The stage a backward node's name puts it in: its block's bucket, the last for the embeddings, else 0. */
    private static int namedStage(String name, int layers, int blocksPerBucket, int lastStage) {
        Matcher m = BLOCK.matcher(name);
        if (m.find()) {
            int block = Integer.parseInt(m.group(1));
            return (layers - 1 - block) / blocksPerBucket;
        }
        return name.startsWith(EMBED) ? lastStage : 0;
    }
}
