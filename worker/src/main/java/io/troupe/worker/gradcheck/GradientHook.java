package io.troupe.worker.gradcheck;

import io.troupe.model.graph.Tensor;

/**
 * Rewrites the analytic gradient of one parameter before it becomes a graph output. The
 * checker's own tests use it to plant a wrong gradient and see the check fail; in normal use it
 * is {@link #NONE}.
 */
@FunctionalInterface
public interface GradientHook {

    /** Leaves every gradient as the autodiff emitted it. */
    GradientHook NONE = (param, gradient) -> gradient;

    /**
     * Returns the tensor to output as the gradient of {@code param}.
     *
     * @param param the parameter's input name
     * @param gradient the autodiff's gradient, shaped like the parameter
     */
    Tensor apply(String param, Tensor gradient);
}
