package io.troupe.worker.engine;

/**
 * The one checked exception of the engine boundary: a graph that ONNX Runtime rejects or that
 * breaks the step-graph contract, a missing execution provider, or a failed run.
 *
 * <p>The message is written for the person running Troupe and says what was expected; the
 * cause, when there is one, is ONNX Runtime's own exception.
 */
public class EngineException extends Exception {

    /** An engine failure with no underlying exception (e.g. a contract violation). */
    public EngineException(String message) {
        super(message);
    }

    /** An engine failure caused by ONNX Runtime. */
    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
