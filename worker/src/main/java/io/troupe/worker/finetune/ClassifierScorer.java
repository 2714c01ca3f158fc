package io.troupe.worker.finetune;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.OrtSessions;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Scores labelled examples with a classifier's evaluation graph ({@link ClassifierGraphs#evaluation})
 * at the current trainable parameters: mean loss and each example's predicted class. One ORT
 * session for the whole run; the parameters are passed in on every call.
 */
final class ClassifierScorer implements AutoCloseable {
    private static final int CHUNK = 64;
    private final OrtEnvironment env = OrtSessions.environment();
    private final OrtSession session;
    private final ParameterLayout layout;
    private final int seqLen;
    private final int classes;

    ClassifierScorer(TrainingGraph evaluation, int classes, int intraOpThreads) throws EngineException {
        this.layout = evaluation.layout();
        this.seqLen = evaluation.seqLen();
        this.classes = classes;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(intraOpThreads);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            this.session = env.createSession(evaluation.toBytes(), options);
        } catch (OrtException e) {
            throw new EngineException("ONNX Runtime refused the classifier's evaluation graph: " + e.getMessage(), e);
        }
    }

    /** Mean cross-entropy and predictions over {@code data}. */
    record Scores(double loss, int[] predicted) {
    }

    Scores score(float[] trainable, EncodedExamples data) throws EngineException {
        int n = data.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        int[] predicted = new int[n];
        double lossSum = 0;
        Map<String, OnnxTensor> params = new HashMap<>();
        try {
            for (ParameterLayout.View v : layout.views()) {
                FloatBuffer slice = FloatBuffer.wrap(trainable, (int) v.offset(), (int) v.length()).slice();
                params.put(v.name(), OnnxTensor.createTensor(env, slice, v.shape()));
            }
            for (int from = 0; from < n; from += CHUNK) {
                int rows = Math.min(CHUNK, n - from);
                LongBuffer idx = LongBuffer.allocate(rows * seqLen);
                LongBuffer lengths = LongBuffer.allocate(rows);
                LongBuffer labels = LongBuffer.allocate(rows);
                data.fill(order, from, rows, seqLen, idx, lengths, labels);
                idx.flip();
                lengths.flip();
                labels.flip();
                Map<String, OnnxTensor> in = new HashMap<>(params);
                try (OnnxTensor i = OnnxTensor.createTensor(env, idx, new long[] {rows, seqLen});
                     OnnxTensor l = OnnxTensor.createTensor(env, lengths, new long[] {rows});
                     OnnxTensor y = OnnxTensor.createTensor(env, labels, new long[] {rows})) {
                    in.put(TrainingGraph.TOKENS, i);
                    in.put(ClassifierGraphs.LENGTHS, l);
                    in.put(ClassifierGraphs.LABELS, y);
                    try (OrtSession.Result r = session.run(in)) {
                        lossSum += rows * ((OnnxTensor) r.get(TrainingGraph.LOSS).orElseThrow()).getFloatBuffer().get(0);
                        FloatBuffer logits = ((OnnxTensor) r.get(ClassifierGraphs.CLASS_LOGITS).orElseThrow())
                                .getFloatBuffer();
                        for (int row = 0; row < rows; row++) {
                            predicted[from + row] = argmax(logits, row * classes, classes);
                        }
                    }
                }
            }
        } catch (OrtException e) {
            throw new EngineException("the classifier's evaluation graph failed: " + e.getMessage(), e);
        } finally {
            params.values().forEach(OnnxTensor::close);
        }
        return new Scores(lossSum / Math.max(1, n), predicted);
    }

    static int argmax(FloatBuffer values, int from, int n) {
        int best = 0;
        for (int k = 1; k < n; k++) {
            if (values.get(from + k) > values.get(from + best)) {
                best = k;
            }
        }
        return best;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not release the session: " + e.getMessage(), e);
        }
    }
}
