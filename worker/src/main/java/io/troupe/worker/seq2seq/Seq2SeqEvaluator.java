package io.troupe.worker.seq2seq;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.DType;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqGraphs;
import io.troupe.worker.engine.EngineException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The unsmoothed per-token NLL of an encoder-decoder over given batches: one evaluation session
 * per padded batch shape (parameters fed as inputs, so one session serves every step's
 * parameters), least recently used dropped beyond {@link #MAX_SESSIONS}, with ORT's CPU arena
 * and memory pattern off so a cached session holds no activations between runs.
 */
final class Seq2SeqEvaluator implements AutoCloseable {
    /** Evaluation sessions kept at once (one per batch shape). */
    static final int MAX_SESSIONS = 8;

    private final Seq2SeqConfig cfg;
    private final int threads;
    private final OrtEnvironment env = io.troupe.worker.engine.OrtSessions.environment();
    private final Map<String, OrtSession> sessions = new LinkedHashMap<>(16, 0.75f, true);

    Seq2SeqEvaluator(Seq2SeqConfig cfg, int threads) {
        this.cfg = cfg.withDropout(0);
        this.threads = threads;
    }

    /** Sum of the per-token NLL over {@code batches} divided by their target tokens (NaN without any). */
    double nll(float[] params, List<Seq2SeqBatch> batches) throws EngineException {
        double nll = 0;
        double tokens = 0;
        try {
            for (Seq2SeqBatch batch : batches) {
                Map<String, OnnxTensor> feeds = feeds(batch, params);
                try (OrtSession.Result r = session(batch).run(feeds)) {
                    nll += ((OnnxTensor) r.get(Seq2SeqGraphs.NLL_SUM).orElseThrow()).getFloatBuffer().get(0);
                    tokens += ((OnnxTensor) r.get(Seq2SeqGraphs.TOKEN_COUNT).orElseThrow()).getFloatBuffer().get(0);
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
            }
        } catch (OrtException e) {
            throw new EngineException("the seq2seq evaluation failed in ONNX Runtime: " + e.getMessage(), e);
        }
        return tokens == 0 ? Double.NaN : nll / tokens;
    }

    private OrtSession session(Seq2SeqBatch batch) throws OrtException {
        String key = batch.rows() + "x" + batch.srcLen() + "x" + batch.tgtLen();
        OrtSession s = sessions.get(key);
        if (s == null) {
            byte[] graph = Seq2SeqGraphs.evaluation(cfg, batch.rows(), batch.srcLen(), batch.tgtLen(), DType.FLOAT)
                    .toBytes();
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setIntraOpNumThreads(threads);
                // Without these every cached session keeps its peak activations after a run.
                options.setCPUArenaAllocator(false);
                options.setMemoryPatternOptimization(false);
                if (sessions.size() >= MAX_SESSIONS) {
                    var eldest = sessions.entrySet().iterator();
                    eldest.next().getValue().close();
                    eldest.remove();
                }
                s = env.createSession(graph, options);
            }
            sessions.put(key, s);
        }
        return s;
    }

    private Map<String, OnnxTensor> feeds(Seq2SeqBatch batch, float[] params) throws OrtException {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        for (ParameterLayout.View v : cfg.layout().views()) {
            feeds.put(v.name(), OnnxTensor.createTensor(env,
                    FloatBuffer.wrap(params, (int) v.offset(), (int) v.length()).slice(), v.shape()));
        }
        int b = batch.rows();
        feeds.put(Seq2SeqGraphs.SRC, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.src()),
                new long[] {b, batch.srcLen()}));
        feeds.put(Seq2SeqGraphs.SRC_LENGTHS, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.srcLengths()),
                new long[] {b}));
        feeds.put(Seq2SeqGraphs.TGT_IN, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.tgtIn()),
                new long[] {b, batch.tgtLen()}));
        feeds.put(Seq2SeqGraphs.TARGETS, OnnxTensor.createTensor(env, LongBuffer.wrap(batch.targets()),
                new long[] {b, batch.tgtLen()}));
        return feeds;
    }

    @Override
    public void close() {
        for (OrtSession s : sessions.values()) {
            try {
                s.close();
            } catch (OrtException e) {
                // Closing frees native memory; nothing more to do if ORT complains.
            }
        }
        sessions.clear();
    }
}
