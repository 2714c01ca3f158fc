package io.troupe.ops.explain;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.troupe.model.explain.ExplainGraphs;
import io.troupe.model.graph.Graph;
import io.troupe.worker.engine.OrtSessions;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One explanation graph ({@link ExplainGraphs}) in an ORT session, fed with a batch of embedding rows. */
final class ScoreSession implements AutoCloseable {
    private final OrtEnvironment env = OrtSessions.environment();
    private final OrtSession session;

    ScoreSession(Graph graph, int threads) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(graph.toBytes(), options);
        }
    }

    /**
     * What one run gives.
     *
     * @param score [B]
     * @param candidates [B * N]
     * @param gradient [B * T * C], or null from the attention graph
     * @param attention each layer's [B * NH * T * T], empty from the gradient graph
     */
    record Output(float[] score, float[] candidates, float[] gradient, List<float[]> attention) {
    }

    /**
     * @param embeddings [rows * T * C] with T = prepared.ids().length
     */
    Output run(float[] embeddings, int rows, int width, PreparedText prepared) throws OrtException {
        int t = prepared.ids().length;
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feeds.put(ExplainGraphs.EMBEDDINGS, OnnxTensor.createTensor(env, FloatBuffer.wrap(embeddings),
                    new long[] {rows, t, width}));
            for (Map.Entry<String, Long> e : prepared.perRow().entrySet()) {
                long[] column = new long[rows];
                java.util.Arrays.fill(column, e.getValue());
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, LongBuffer.wrap(column), new long[] {rows}));
            }
            for (Map.Entry<String, long[]> e : prepared.shared().entrySet()) {
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, LongBuffer.wrap(e.getValue()),
                        new long[] {e.getValue().length}));
            }
            try (OrtSession.Result result = session.run(feeds)) {
                float[] gradient = result.get(ExplainGraphs.EMBEDDINGS_GRAD).map(ScoreSession::floats).orElse(null);
                List<float[]> attention = new ArrayList<>();
                for (int layer = 0; ; layer++) {
                    var a = result.get(ExplainGraphs.ATTENTION_PREFIX + layer);
                    if (a.isEmpty()) {
                        break;
                    }
                    attention.add(floats(a.get()));
                }
                return new Output(floats(result.get(ExplainGraphs.SCORE).orElseThrow()),
                        floats(result.get(ExplainGraphs.CANDIDATES).orElseThrow()), gradient, attention);
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static float[] floats(OnnxValue v) {
        FloatBuffer b = ((OnnxTensor) v).getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
