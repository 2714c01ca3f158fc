package io.troupe.worker.seq2seq;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OrtEnvironment;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.worker.engine.OrtSessions;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The seq2seq evaluator shares Troupe's ORT environment instead of asking ORT for another one. */
class Seq2SeqEvaluatorTest {
    @Test
    void takesTheSharedEnvironmentWithoutAnOrtWarning() {
        // ORT warns through java.util.logging when the environment is asked for with another name
        // or level than the one that exists. The evaluator used to create ORT's default environment
        // first, and then every engine's OrtSessions.environment() printed a WARN line. (In a JVM where
        // another test made Troupe's environment first, both orders are quiet.)
        Logger ortLog = Logger.getLogger(OrtEnvironment.class.getName());
        List<String> warnings = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(r.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        ortLog.addHandler(capture);
        try (Seq2SeqEvaluator evaluator = new Seq2SeqEvaluator(new Seq2SeqConfig(16, 8, 8, 1, 1, 2, 8, 16, 0.0, 0.1), 1)) {
            OrtSessions.environment();
            assertEquals(List.of(), warnings);
        } finally {
            ortLog.removeHandler(capture);
        }
    }
}
