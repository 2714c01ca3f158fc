package io.troupe.worker.gradcheck;

import io.troupe.model.graph.DType;
import java.util.List;

/**
 * Something whose analytic gradients can be checked: it builds, for a requested precision, a
 * {@link CheckableModel}. {@link OpCase} covers single ops; {@link GptCase} a whole GPT.
 */
public interface GradientCase {

    /** The key the case reports under: an ONNX op type such as "MatMul", or "gpt". */
    String opType();

    /** A short description unique among the cases of one op type, e.g. "[B,T,C] x [C,N] weight". */
    String name();

    /** The precisions to try, most accurate first; the checker falls back along this list. */
    default List<DType> precisions() {
        return List.of(DType.DOUBLE, DType.FLOAT);
    }

    /**
     * True when every evaluation needs a new ORT session, because the model holds state that
     * advances per run (Dropout's random generator): a fresh session's first run always draws
     * the same mask.
     */
    default boolean freshSessionPerRun() {
        return false;
    }

    /** How the case is checked at {@code precision}. */
    default Tolerance tolerance(DType precision) {
        return Tolerance.defaultFor(precision);
    }

    /**
     * Builds the model at {@code precision}, passing every analytic gradient through
     * {@code hook} before it becomes an output.
     *
     * @throws UnsupportedOperationException when the case cannot apply a hook other than
     *     {@link GradientHook#NONE} (its gradients are built elsewhere)
     */
    CheckableModel build(DType precision, GradientHook hook);

    /** "opType: name", for messages and test names. */
    default String label() {
        return opType() + ": " + name();
    }
}
