package io.troupe.worker.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.OrtSession.SessionOptions.ExecutionMode;
import io.troupe.errors.TroupeException.Kind;

/** Opens ONNX Runtime sessions configured from {@link EngineOptions}; the one place that touches SessionOptions. */
public final class OrtSessions {

    /** Appears in ONNX Runtime's own log lines, so they can be told apart from other ORT users. */
    private static final String LOG_ID = "troupe";

    private OrtSessions() {}

    /**
     * The process-wide ONNX Runtime environment. Its log level is WARNING so ORT's informational
     * chatter never reaches stderr; it is never closed because every session in the JVM shares it.
     * Every ORT user in Troupe takes it from here: asking ORT for its environment with another
     * level or name makes ORT log a warning through java.util.logging.
     */
    public static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, LOG_ID);
    }

    /**
     * Creates a session for the serialized ONNX model.
     *
     * @throws EngineException if the device is unavailable or ONNX Runtime rejects the model
     */
    static OrtSession open(byte[] model, EngineOptions options) throws EngineException {
        OrtEnvironment env = environment();
        // The session copies what it needs from its options, so they can be released right away.
        try (SessionOptions sessionOptions = new SessionOptions()) {
            configure(sessionOptions, options);
            return env.createSession(model, sessionOptions);
        } catch (OrtException e) {
            java.util.Optional<String> missing = MissingKernel.explain(e.getMessage(), String.valueOf(options.device()));
            if (missing.isPresent()) {
                // A settings problem (precision on this device), not a bug: a clear one-line error.
                throw new EngineException(io.troupe.errors.TroupeException.Kind.CONFIG, missing.get(), e);
            }
            throw new EngineException("ONNX Runtime could not load the model on " + options.device() + ": "
                    + e.getMessage(), e);
        }
    }

    private static void configure(SessionOptions session, EngineOptions options)
            throws OrtException, EngineException {
        session.setIntraOpNumThreads(options.intraOpThreads());
        session.setInterOpNumThreads(1);
        session.setExecutionMode(ExecutionMode.SEQUENTIAL);
        session.setOptimizationLevel(options.optimization().ortLevel());
        session.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING);
        session.setCPUArenaAllocator(options.memory().arena());
        session.setMemoryPatternOptimization(options.memory().memoryPattern());
        if (options.profilingPrefix().isPresent()) {
            session.enableProfiling(options.profilingPrefix().get().toString());
        }
        if (options.device() instanceof Device.Cuda cuda) {
            addCuda(session, cuda);
        }
    }

    private static void addCuda(SessionOptions session, Device.Cuda cuda) throws EngineException {
        // Checked up front: the CPU jar's addCUDA fails with a message about a missing symbol or
        // library that does not tell the user how to fix it.
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            throw new EngineException(Kind.CONFIG, "device " + cuda + " needs ONNX Runtime's CUDA execution provider, "
                    + "but this build bundles the CPU-only ONNX Runtime. Build Troupe with "
                    + "'./mvnw -Pcuda -DskipTests install' on a machine with CUDA 12 and cuDNN 9.", null);
        }
        try {
            session.addCUDA(cuda.ordinal());
        } catch (OrtException e) {
            throw new EngineException(Kind.CONFIG, "could not start the CUDA execution provider on " + cuda
                    + " (it needs CUDA 12 and cuDNN 9 libraries on the library path and a GPU with that "
                    + "ordinal): " + e.getMessage(), e);
        }
    }
}
