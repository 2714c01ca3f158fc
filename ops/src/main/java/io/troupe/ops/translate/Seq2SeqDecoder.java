package io.troupe.ops.translate;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.model.seq2seq.Seq2SeqCacheGraphs;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqGraphs;
import io.troupe.ops.inference.TokenSampler;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cached decoding with a trained encoder-decoder ({@link Seq2SeqCacheGraphs}): the encoder runs
 * once per input and yields every decoder layer's cross-attention keys and values; each decoder
 * step then feeds one new token per row and carries the self-attention keys and values forward,
 * so a step costs one position, not the whole prefix. Greedy, beam search (with a length
 * penalty) and sampling share the step. A source longer than the encoder's positions is cut to
 * fit and counted in {@link #truncatedSources()}. Not thread-safe: one decode at a time.
 */
public final class Seq2SeqDecoder implements AutoCloseable {
    private final Seq2SeqModelDir model;
    private final Seq2SeqConfig cfg;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession encoder;
    private final OrtSession step;
    private final int layers;
    /** NH * HS: one row's cache floats per position. */
    private final int width;
    private int truncated;

    public Seq2SeqDecoder(Seq2SeqModelDir model, int threads) throws OrtException {
        this.model = model;
        this.cfg = model.config();
        this.layers = cfg.decoderLayers();
        this.width = cfg.nEmbd();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            this.encoder = env.createSession(Seq2SeqCacheGraphs.encoder(cfg, FloatBuffer.wrap(model.params()))
                    .toBytes(), options);
            this.step = env.createSession(Seq2SeqCacheGraphs.step(cfg, FloatBuffer.wrap(model.params()))
                    .toBytes(), options);
        }
    }

    /** The model this decoder runs. */
    public Seq2SeqModelDir model() {
        return model;
    }

    /** Sources cut to the encoder's positions so far. */
    public int truncatedSources() {
        return truncated;
    }

    /** The source's token ids, cut to the encoder's positions (and counted) when longer. */
    public int[] sourceIds(String source) {
        int[] ids = model.tokenizer().encode(source);
        if (ids.length > cfg.maxSource()) {
            ids = Arrays.copyOf(ids, cfg.maxSource());
            truncated++;
        }
        return ids;
    }

    /** Greedy translation of one line. */
    public String greedy(String source) throws OrtException {
        return decodeText(sourceIds(source), ids -> greedy(ids, cfg.maxTarget() - 1));
    }

    /** Beam-search translation of one line (see {@link #beam(int[], int, double, int)}). */
    public String beam(String source, int beamSize, double lengthPenalty) throws OrtException {
        return decodeText(sourceIds(source), ids -> beam(ids, beamSize, lengthPenalty, cfg.maxTarget() - 1));
    }

    /** A sampled translation of one line. */
    public String sample(String source, TokenSampler sampler) throws OrtException {
        return decodeText(sourceIds(source), ids -> sample(ids, sampler, cfg.maxTarget() - 1));
    }

    @FunctionalInterface
    private interface Search {
        int[] run(int[] ids) throws OrtException;
    }

    private String decodeText(int[] ids, Search search) throws OrtException {
        return ids.length == 0 ? "" : text(search.run(ids));
    }

    /** The text of target ids, leaving out the special tokens (BOS, EOS, padding), which are not text. */
    public String text(int[] ids) {
        int limit = model.tokenizer().vocabSize();
        return model.tokenizer().decode(Arrays.stream(ids).filter(id -> id < limit && id != model.bosId()
                && id != model.eosId() && id != model.padId()).toArray());
    }

    /** The likeliest next token each step, until EOS or {@code maxTokens} tokens. */
    public int[] greedy(int[] source, int maxTokens) throws OrtException {
        return sample(source, null, maxTokens);
    }

    /** Samples each next token with {@code sampler} (greedy when null), until EOS or {@code maxTokens}. */
    public int[] sample(int[] source, TokenSampler sampler, int maxTokens) throws OrtException {
        return decode(source, sampler, maxTokens, true);
    }

    /**
     * Exactly {@code tokens} greedy tokens (capped by the target positions), EOS taken like any
     * other token: a fixed amount of work, for timing the cache against {@link GreedyTranslator}.
     */
    public int[] greedyFixedLength(int[] source, int tokens) throws OrtException {
        return decode(source, null, tokens, false);
    }

    private int[] decode(int[] source, TokenSampler sampler, int maxTokens, boolean stopAtEos) throws OrtException {
        try (Encoded enc = encode(source)) {
            Cache cache = new Cache(1);
            List<Integer> out = new ArrayList<>();
            long previous = model.bosId();
            int v = cfg.vocabSize();
            int limit = Math.min(maxTokens, cfg.maxTarget() - 1);
            while (out.size() < limit) {
                float[] logits = run(enc, cache, new long[] {previous});                // [1, V]
                int next = sampler == null ? argmax(logits, 0, v) : sampler.sample(logits, 0, v);
                if (stopAtEos && next == model.eosId()) {
                    break;
                }
                out.add(next);
                previous = next;
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /**
     * Beam search: keeps the {@code beamSize} best partial translations by summed log-probability;
     * a hypothesis ending in EOS is finished and scored by its log-probability over
     * {@code length^lengthPenalty} (length counts EOS; 0 = no normalisation, 1 = per token).
     * Stops once {@code beamSize} hypotheses are finished or {@code maxTokens} are reached (the
     * unfinished beams then compete as they are). With a beam of 1 this is greedy decoding.
     */
    public int[] beam(int[] source, int beamSize, double lengthPenalty, int maxTokens) throws OrtException {
        if (beamSize < 1) {
            throw new IllegalArgumentException("--beam must be at least 1, got " + beamSize);
        }
        if (!(lengthPenalty >= 0) || Double.isInfinite(lengthPenalty)) {
            throw new IllegalArgumentException("--length-penalty must be >= 0, got " + lengthPenalty);
        }
        int limit = Math.min(maxTokens, cfg.maxTarget() - 1);
        int v = cfg.vocabSize();
        try (Encoded enc = encode(source)) {
            List<Hypothesis> live = List.of(new Hypothesis(new int[0], 0));
            List<Hypothesis> finished = new ArrayList<>();
            Cache cache = new Cache(1);
            for (int t = 0; t <= limit && finished.size() < beamSize; t++) {
                long[] last = new long[live.size()];
                for (int i = 0; i < live.size(); i++) {
                    int[] toks = live.get(i).tokens();
                    last[i] = toks.length == 0 ? model.bosId() : toks[toks.length - 1];
                }
                float[] logits = run(enc, cache, last);                                 // [live, V]
                // Candidates: each beam's 2k best continuations (enough to keep k alive after EOS ones).
                List<Candidate> candidates = new ArrayList<>();
                for (int i = 0; i < live.size(); i++) {
                    double logZ = logSumExp(logits, i * v, v);
                    for (int tok : topK(logits, i * v, v, 2 * beamSize)) {
                        candidates.add(new Candidate(i, tok, live.get(i).logProb() + logits[i * v + tok] - logZ));
                    }
                }
                candidates.sort(Comparator.comparingDouble(Candidate::logProb).reversed());
                List<Hypothesis> next = new ArrayList<>();
                List<Integer> origins = new ArrayList<>();
                for (Candidate c : candidates) {
                    if (next.size() == beamSize || finished.size() >= beamSize) {
                        break;
                    }
                    int[] prefix = live.get(c.beam()).tokens();
                    if (c.token() == model.eosId()) {
                        finished.add(new Hypothesis(prefix, c.logProb()));
                    } else if (t < limit) {
                        int[] grown = Arrays.copyOf(prefix, prefix.length + 1);
                        grown[prefix.length] = c.token();
                        next.add(new Hypothesis(grown, c.logProb()));
                        origins.add(c.beam());
                    } else {
                        finished.add(new Hypothesis(prefix, live.get(c.beam()).logProb())); // out of positions
                    }
                }
                if (next.isEmpty()) {
                    break;
                }
                cache.reorder(origins.stream().mapToInt(Integer::intValue).toArray());
                live = next;
            }
            if (finished.isEmpty()) {
                finished.addAll(live);
            }
            Hypothesis best = finished.get(0);
            for (Hypothesis h : finished) {
                if (h.normalized(lengthPenalty) > best.normalized(lengthPenalty)) {
                    best = h;
                }
            }
            return best.tokens();
        }
    }

    private record Hypothesis(int[] tokens, double logProb) {
        double normalized(double alpha) {
            return alpha == 0 ? logProb : logProb / Math.pow(tokens.length + 1, alpha);  // + 1: the EOS
        }
    }

    private record Candidate(int beam, int token, double logProb) {
    }

    /** The encoder's cross-attention keys and values of one source, ready to tile over a batch. */
    private final class Encoded implements AutoCloseable {
        final int srcLen;
        /** Per layer, {keys [NH, HS, S], values [NH, S, HS]} of the one source. */
        final float[][][] cross;
        /** The step inputs other than the token and the past, by batch size (beams share them). */
        final Map<Integer, Map<String, OnnxTensor>> feedsByBatch = new HashMap<>();

        Encoded(int srcLen, float[][][] cross) {
            this.srcLen = srcLen;
            this.cross = cross;
        }

        Map<String, OnnxTensor> feeds(int batch) throws OrtException {
            Map<String, OnnxTensor> feeds = feedsByBatch.get(batch);
            if (feeds == null) {
                feeds = new HashMap<>();
                long[] lengths = new long[batch];
                Arrays.fill(lengths, srcLen);
                feeds.put(Seq2SeqGraphs.SRC_LENGTHS, OnnxTensor.createTensor(env, LongBuffer.wrap(lengths),
                        new long[] {batch}));
                int nh = cfg.nHead();
                int hs = width / nh;
                for (int layer = 0; layer < layers; layer++) {
                    feeds.put(Seq2SeqCacheGraphs.crossKey(layer), tiled(cross[layer][0], batch,
                            new long[] {batch, nh, hs, srcLen}));
                    feeds.put(Seq2SeqCacheGraphs.crossValue(layer), tiled(cross[layer][1], batch,
                            new long[] {batch, nh, srcLen, hs}));
                }
                feedsByBatch.put(batch, feeds);
            }
            return feeds;
        }

        private OnnxTensor tiled(float[] row, int batch, long[] shape) throws OrtException {
            float[] all = new float[row.length * batch];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(row, 0, all, b * row.length, row.length);
            }
            return OnnxTensor.createTensor(env, FloatBuffer.wrap(all), shape);
        }

        @Override
        public void close() {
            feedsByBatch.values().forEach(m -> m.values().forEach(OnnxTensor::close));
        }
    }

    /** Runs the encoder once: every decoder layer's cross keys and values of this source. */
    private Encoded encode(int[] source) throws OrtException {
        long[] src = Arrays.stream(source).asLongStream().toArray();
        try (OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(src), new long[] {1, src.length});
             OnnxTensor len = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {src.length}), new long[] {1});
             OrtSession.Result r = encoder.run(Map.of(Seq2SeqGraphs.SRC, x, Seq2SeqGraphs.SRC_LENGTHS, len))) {
            float[][][] cross = new float[layers][2][];
            for (int layer = 0; layer < layers; layer++) {
                cross[layer][0] = floats(r, Seq2SeqCacheGraphs.crossKey(layer));
                cross[layer][1] = floats(r, Seq2SeqCacheGraphs.crossValue(layer));
            }
            return new Encoded(src.length, cross);
        }
    }

    /** The self-attention keys and values of the tokens fed so far: per layer [rows, NH, P, HS]. */
    private final class Cache {
        int rows;
        int positions;
        float[][] keys = new float[layers][0];
        float[][] values = new float[layers][0];

        Cache(int rows) {
            this.rows = rows;
        }

        /** Row r of the next step continues row origins[r] of this one (beam search). */
        void reorder(int[] origins) {
            int rowFloats = positions * width;
            for (int layer = 0; layer < layers; layer++) {
                keys[layer] = gather(keys[layer], origins, rowFloats);
                values[layer] = gather(values[layer], origins, rowFloats);
            }
            rows = origins.length;
        }

        private float[] gather(float[] from, int[] origins, int rowFloats) {
            float[] to = new float[origins.length * rowFloats];
            for (int r = 0; r < origins.length; r++) {
                System.arraycopy(from, origins[r] * rowFloats, to, r * rowFloats, rowFloats);
            }
            return to;
        }
    }

    /** One decoder step over {@code tokens.length} rows: returns logits [rows, V] and grows the cache. */
    private float[] run(Encoded enc, Cache cache, long[] tokens) throws OrtException {
        int b = tokens.length;
        if (b != cache.rows) {
            throw new IllegalStateException(b + " tokens for " + cache.rows + " cached rows");
        }
        int nh = cfg.nHead();
        int hs = width / nh;
        Map<String, OnnxTensor> feeds = new HashMap<>(enc.feeds(b));
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            OnnxTensor in = OnnxTensor.createTensor(env, LongBuffer.wrap(tokens), new long[] {b, 1});
            owned.add(in);
            feeds.put(Seq2SeqGraphs.TGT_IN, in);
            long[] pastShape = {b, nh, cache.positions, hs};
            for (int layer = 0; layer < layers; layer++) {
                OnnxTensor k = OnnxTensor.createTensor(env, FloatBuffer.wrap(cache.keys[layer]), pastShape);
                OnnxTensor v = OnnxTensor.createTensor(env, FloatBuffer.wrap(cache.values[layer]), pastShape);
                owned.add(k);
                owned.add(v);
                feeds.put(Seq2SeqCacheGraphs.pastKey(layer), k);
                feeds.put(Seq2SeqCacheGraphs.pastValue(layer), v);
            }
            try (OrtSession.Result r = step.run(feeds)) {
                for (int layer = 0; layer < layers; layer++) {
                    cache.keys[layer] = floats(r, Seq2SeqCacheGraphs.presentKey(layer));
                    cache.values[layer] = floats(r, Seq2SeqCacheGraphs.presentValue(layer));
                }
                cache.positions++;
                return floats(r, Seq2SeqGraphs.LOGITS);                                  // [B, 1, V]
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private static float[] floats(OrtSession.Result r, String name) {
        FloatBuffer buf = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
        float[] out = new float[buf.remaining()];
        buf.get(out);
        return out;
    }

    static int argmax(float[] x, int offset, int n) {
        int best = 0;
        for (int k = 1; k < n; k++) {
            if (x[offset + k] > x[offset + best]) {
                best = k;
            }
        }
        return best;
    }

    private static double logSumExp(float[] x, int offset, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            max = Math.max(max, x[offset + k]);
        }
        double sum = 0;
        for (int k = 0; k < n; k++) {
            sum += Math.exp(x[offset + k] - max);
        }
        return max + Math.log(sum);
    }

    /** The indices of the k largest of x[offset, offset + n), largest first (ties: lower index first). */
    private static int[] topK(float[] x, int offset, int n, int k) {
        int m = Math.min(k, n);
        int[] best = new int[m];
        int size = 0;
        for (int i = 0; i < n; i++) {
            float value = x[offset + i];
            if (size == m && value <= x[offset + best[m - 1]]) {
                continue;
            }
            int pos = size < m ? size++ : m - 1;
            while (pos > 0 && x[offset + best[pos - 1]] < value) {
                best[pos] = best[pos - 1];
                pos--;
            }
            best[pos] = i;
        }
        return best;
    }

    @Override
    public void close() throws OrtException {
        encoder.close();
        step.close();
    }
}
