package io.troupe.ops.inference;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.troupe.data.DataException;
import io.troupe.worker.engine.OrtSessions;
import java.nio.file.Path;

/**
 * Opens an exported ONNX file for inference, the same way for every kind of exported model
 * (language model, classifier): ORT's full graph optimisation, only its errors logged, and a
 * load failure reported as one line naming the file.
 */
final class ExportedSession {
    private ExportedSession() {
    }

    /** The shared ORT environment every session runs in. */
    static OrtEnvironment environment() {
        return OrtSessions.environment();
    }

    /**
     * @throws DataException when ONNX Runtime cannot load the file
     */
    static OrtSession open(Path modelFile, int threads) throws DataException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return environment().createSession(modelFile.toString(), options);
        } catch (OrtException e) {
            throw new DataException(modelFile + " is not a loadable ONNX model: " + e.getMessage(), e);
        }
    }

    /** A session over an in-memory model (an encoder imported from another format). */
    static OrtSession open(byte[] model, String what, int threads) throws DataException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return environment().createSession(model, options);
        } catch (OrtException e) {
            throw new DataException(what + " did not load in ONNX Runtime: " + e.getMessage(), e);
        }
    }

    /** Closes a session whose opening failed later on; the earlier error is the one to report. */
    static void closeQuietly(OrtSession session) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException ignored) {
                // Already failing.
            }
        }
    }
}
