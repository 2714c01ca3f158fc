package io.troupe.worker.engine;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;

/**
 * How much ONNX Runtime rewrites a graph before running it (constant folding, fusions, layout
 * changes). {@link #ALL} is fastest; {@link #NONE} runs the graph exactly as built, which helps
 * when checking a graph against a reference.
 */
public enum GraphOptimization {
    /** Run the graph as written. */
    NONE(OptLevel.NO_OPT),
    /** Semantics-preserving node eliminations and constant folding. */
    BASIC(OptLevel.BASIC_OPT),
    /** {@link #BASIC} plus operator fusions. */
    EXTENDED(OptLevel.EXTENDED_OPT),
    /** Every optimization, including memory-layout changes. */
    ALL(OptLevel.ALL_OPT);

    private final OptLevel ortLevel;

    GraphOptimization(OptLevel ortLevel) {
        this.ortLevel = ortLevel;
    }

    OptLevel ortLevel() {
        return ortLevel;
    }
}
