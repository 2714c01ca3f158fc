package io.troupe.model.gpt;

import io.troupe.model.graph.Graph;
import java.util.List;

/**
 * A GPT training graph cut into stages that run one after the other (see
 * {@link GptGraphs#stagedTraining}): together they compute exactly the loss and the gradients of
 * the whole {@link TrainingGraph}, but the gradients of stage k are available while stage k+1
 * still runs, so they can be all-reduced meanwhile.
 *
 * @param stages in running order; stage 0 takes the batch and outputs {@value TrainingGraph#LOSS}
 * @param layout the parameters (the graph inputs named as in the layout)
 * @param batch rows of the batch inputs
 * @param seqLen T
 */
public record StagedTrainingGraph(List<Stage> stages, ParameterLayout layout, int batch, int seqLen) {

    public StagedTrainingGraph {
        stages = List.copyOf(stages);
    }

    /**
     * One stage.
     *
     * @param graph its graph: inputs are parameters, batch inputs and the values it
     *     {@code receives}; outputs are {@code grad.<name>} for each of its {@code gradients}, the
     *     values it {@code sends}, and (stage 0) the loss
     * @param gradients the parameters whose gradient this stage completes, in layout order
     * @param receives values computed by earlier stages that this one reads, by name
     * @param sends values this stage computes that later stages read, by name
     */
    public record Stage(Graph graph, List<String> gradients, List<String> receives, List<String> sends) {
        public Stage {
            gradients = List.copyOf(gradients);
            receives = List.copyOf(receives);
            sends = List.copyOf(sends);
        }
    }
}
