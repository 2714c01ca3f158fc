/**
 * Checks every backward rule of the graph builder, and the whole GPT training graph, against
 * central finite differences computed by ONNX Runtime.
 *
 * <p>{@link io.troupe.worker.gradcheck.GradientChecker} runs one
 * {@link io.troupe.worker.gradcheck.GradientCase}: in double precision when ONNX Runtime has
 * double kernels for every op of the case, else in float32, each with a
 * {@link io.troupe.worker.gradcheck.Tolerance} derived in its comments.
 * {@link io.troupe.worker.gradcheck.OpCases} covers every differentiable op;
 * {@link io.troupe.worker.gradcheck.GptCase} a 2-layer GPT;
 * {@link io.troupe.worker.gradcheck.GradientCheckSuite#run()} runs them all into a
 * {@link io.troupe.worker.gradcheck.GradientCheckReport}, whose
 * {@link io.troupe.worker.gradcheck.GradientCheckReport#toJson() JSON} is what
 * {@code ./troupe gradcheck --json} prints.
 */
package io.troupe.worker.gradcheck;
