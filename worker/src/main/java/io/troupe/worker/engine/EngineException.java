package io.troupe.worker.engine;

import io.troupe.errors.TroupeException;

/**
 * The one exception of the engine boundary: a graph that ONNX Runtime rejects or that breaks
 * the step-graph contract, a missing execution provider, or a failed run.
 *
 * <p>The message is written for the person running Troupe and says what was expected; the
 * cause, when there is one, is ONNX Runtime's own exception. Troupe builds the graphs it runs,
 * so a rejected graph or a failed run is {@link Kind#INTERNAL}; a device this machine or build
 * cannot use is {@link Kind#CONFIG}.
 */
public class EngineException extends TroupeException {

    private static final long serialVersionUID = 1L;

    /** An engine failure with no underlying exception (e.g. a contract violation). */
    public EngineException(String message) {
        super(Kind.INTERNAL, message);
    }

    /** An engine failure caused by ONNX Runtime. */
    public EngineException(String message, Throwable cause) {
        super(Kind.INTERNAL, message, cause);
    }

    /** An engine failure of another kind than a bug (a device that cannot be used). */
    public EngineException(Kind kind, String message, Throwable cause) {
        super(kind, message, cause);
    }
}
