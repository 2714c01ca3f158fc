package io.troupe.ops.translate;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqGraphs;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * Uncached greedy decoding with a trained encoder-decoder, the reference that
 * {@link Seq2SeqDecoder}'s KV cache is tested and timed against: the encoder runs once per input,
 * then the decoder reruns over the whole growing prefix and the likeliest next token is kept
 * until EOS or the target positions run out. A source longer than the encoder's positions is cut
 * to fit, and counted in {@link #truncatedSources()}.
 */
public final class GreedyTranslator implements AutoCloseable {
    private final Seq2SeqModelDir model;
    private final OrtEnvironment env = io.troupe.worker.engine.OrtSessions.environment();
    private final OrtSession encoder;
    private final OrtSession decoder;
    private int truncated;

    public GreedyTranslator(Seq2SeqModelDir model, int threads) throws OrtException {
        this.model = model;
        Seq2SeqConfig cfg = model.config();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        this.encoder = env.createSession(Seq2SeqGraphs.encoderInference(cfg, FloatBuffer.wrap(model.params()))
                .toBytes(), options);
        this.decoder = env.createSession(Seq2SeqGraphs.decoderInference(cfg, FloatBuffer.wrap(model.params()))
                .toBytes(), options);
    }

    /** Sources cut to the encoder's positions so far. */
    public int truncatedSources() {
        return truncated;
    }

    /** The translation of one line. */
    public String translate(String source) throws OrtException {
        Seq2SeqConfig cfg = model.config();
        int[] ids = model.tokenizer().encode(source);
        if (ids.length > cfg.maxSource()) {
            ids = Arrays.copyOf(ids, cfg.maxSource());
            truncated++;
        }
        return ids.length == 0 ? "" : model.tokenizer().decode(translateIds(ids));
    }

    /** Greedy target ids for source ids (at most the encoder's positions), until EOS or the positions run out. */
    public int[] translateIds(int[] source) throws OrtException {
        return translateIds(source, model.config().maxTarget() - 1, true);
    }

    /**
     * Greedy target ids: at most {@code maxTokens} (and the target positions); with {@code stopAtEos}
     * false, EOS is kept like any token, so a fixed number of steps runs (for timing).
     */
    public int[] translateIds(int[] source, int maxTokens, boolean stopAtEos) throws OrtException {
        Seq2SeqConfig cfg = model.config();
        long[] src = Arrays.stream(source).asLongStream().toArray();
        int v = cfg.vocabSize();
        int limit = Math.min(maxTokens, cfg.maxTarget() - 1) + 1;
        long[] out = new long[limit];
        out[0] = model.bosId();
        int n = 1;
        try (OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(src), new long[] {1, src.length});
             OnnxTensor len = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {src.length}), new long[] {1});
             OrtSession.Result encoded = encoder.run(Map.of(Seq2SeqGraphs.SRC, x, Seq2SeqGraphs.SRC_LENGTHS, len))) {
            OnnxTensor memory = (OnnxTensor) encoded.get(Seq2SeqGraphs.MEMORY).orElseThrow(); // [1, S, C], reused
            while (n < limit) {
                try (OnnxTensor prefix = OnnxTensor.createTensor(env, LongBuffer.wrap(out, 0, n).slice(),
                        new long[] {1, n});
                     OrtSession.Result r = decoder.run(Map.of(Seq2SeqGraphs.MEMORY, memory,
                             Seq2SeqGraphs.SRC_LENGTHS, len, Seq2SeqGraphs.TGT_IN, prefix))) {
                    FloatBuffer logits = ((OnnxTensor) r.get(Seq2SeqGraphs.LOGITS).orElseThrow()).getFloatBuffer();
                    int base = (n - 1) * v;                                   // the last position's row
                    int best = 0;
                    for (int k = 1; k < v; k++) {
                        if (logits.get(base + k) > logits.get(base + best)) {
                            best = k;
                        }
                    }
                    if (stopAtEos && best == model.eosId()) {
                        break;
                    }
                    out[n++] = best;
                }
            }
        }
        int[] tokens = new int[n - 1];
        for (int i = 1; i < n; i++) {
            tokens[i - 1] = (int) out[i];
        }
        return tokens;
    }

    @Override
    public void close() throws OrtException {
        encoder.close();
        decoder.close();
    }
}
