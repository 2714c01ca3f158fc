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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
    private final OrtEnvironment env = io.troupe.worker.engine.OrtSessions.environment();
    private final OrtSession encoder;
    private final OrtSession step;
    private final int layers;
    /** C = NH * HS: one row's cache floats per position. */
    private final int width;
    private final int nHead;
    private final int headSize;
    /** T: the positions every step's past holds (the decoder's maxTarget). */
    private final int maxPositions;
    /** The step's position input, [1], shared by every batch size's buffers. */
    private final LongBuffer position = ByteBuffer.allocateDirect(Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
    private final Map<Integer, StepBuffers> buffersByRows = new HashMap<>();
    /**
     * Per layer * 2 + k|v, the memory of the pasts of every batch size, sized for {@link #arenaRows}
     * rows: a row is one contiguous block, so B rows are the arena's first B blocks, and the
     * decoder holds one past of its largest batch, not one per batch size.
     */
    private FloatBuffer[] pastArena = new FloatBuffer[0];
    private int arenaRows;
    /** The live rows of one past tensor while beam search reorders them. */
    private float[] reorderScratch = new float[0];
    private int truncated;

    public Seq2SeqDecoder(Seq2SeqModelDir model, int threads) throws OrtException {
        this.model = model;
        this.cfg = model.config();
        this.layers = cfg.decoderLayers();
        this.width = cfg.nEmbd();
        this.maxPositions = cfg.maxTarget();
        this.nHead = cfg.nHead();
        this.headSize = width / nHead;
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
        reserveRows(1);
        try (Encoded enc = encode(source)) {
            Cache cache = new Cache(enc, 1);
            List<Integer> out = new ArrayList<>();
            long previous = model.bosId();
            int v = cfg.vocabSize();
            int limit = Math.min(maxTokens, cfg.maxTarget() - 1);
            while (out.size() < limit) {
                float[] logits = run(cache, new long[] {previous});                // [1, V]
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
        return beamSearch(source, beamSize, lengthPenalty, maxTokens).tokens();
    }

    /** {@link #beam}'s winner with its summed log-probability. */
    Hypothesis beamSearch(int[] source, int beamSize, double lengthPenalty, int maxTokens) throws OrtException {
        if (beamSize < 1) {
            throw new IllegalArgumentException("--beam must be at least 1, got " + beamSize);
        }
        if (!(lengthPenalty >= 0) || Double.isInfinite(lengthPenalty)) {
            throw new IllegalArgumentException("--length-penalty must be >= 0, got " + lengthPenalty);
        }
        int limit = Math.min(maxTokens, cfg.maxTarget() - 1);
        int v = cfg.vocabSize();
        reserveRows(beamSize);
        try (Encoded enc = encode(source)) {
            List<Hypothesis> live = List.of(new Hypothesis(new int[0], 0, false));
            List<Hypothesis> finished = new ArrayList<>();
            Cache cache = new Cache(enc, 1);
            for (int t = 0; t <= limit && finished.size() < beamSize; t++) {
                long[] last = new long[live.size()];
                for (int i = 0; i < live.size(); i++) {
                    int[] toks = live.get(i).tokens();
                    last[i] = toks.length == 0 ? model.bosId() : toks[toks.length - 1];
                }
                float[] logits = run(cache, last);                                 // [live, V]
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
                        finished.add(new Hypothesis(prefix, c.logProb(), true));
                    } else if (t < limit) {
                        int[] grown = Arrays.copyOf(prefix, prefix.length + 1);
                        grown[prefix.length] = c.token();
                        next.add(new Hypothesis(grown, c.logProb(), false));
                        origins.add(c.beam());
                    } else {
                        finished.add(live.get(c.beam()));                               // out of positions
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
            return best;
        }
    }

    /**
     * A partial or finished translation: its tokens (EOS left out), and the summed log-probability
     * of those tokens and, when {@code ended}, of the EOS after them.
     */
    record Hypothesis(int[] tokens, double logProb, boolean ended) {
        double normalized(double alpha) {
            return alpha == 0 ? logProb : logProb / Math.pow(tokens.length + 1, alpha);  // + 1: the EOS
        }
    }

    private record Candidate(int beam, int token, double logProb) {
    }

    /**
     * The summed log-probability of {@code target} (then EOS, when {@code thenEos}) given the
     * source, fed one token at a time through one cache row; for checking beam search's scores.
     */
    double logProbability(int[] source, int[] target, boolean thenEos) throws OrtException {
        int v = cfg.vocabSize();
        reserveRows(1);
        try (Encoded enc = encode(source)) {
            Cache cache = new Cache(enc, 1);
            double sum = 0;
            long previous = model.bosId();
            for (int i = 0; i < target.length + (thenEos ? 1 : 0); i++) {
                float[] logits = run(cache, new long[] {previous});                      // [1, V]
                int next = i < target.length ? target[i] : model.eosId();
                sum += logits[next] - logSumExp(logits, 0, v);
                previous = next;
            }
            return sum;
        }
    }

    /**
     * The encoder's outputs for one source (batch 1): every decoder layer's cross-attention keys
     * and values and the source padding bias, kept as ORT tensors and fed to every step as they
     * are; the step graph broadcasts them over its rows, so beams share one copy.
     */
    private final class Encoded implements AutoCloseable {
        private final OrtSession.Result result;
        private final Map<String, OnnxTensor> cross = new HashMap<>();

        Encoded(OrtSession.Result result) {
            this.result = result;
            for (int layer = 0; layer < layers; layer++) {
                put(Seq2SeqCacheGraphs.crossKey(layer));
                put(Seq2SeqCacheGraphs.crossValue(layer));
            }
            put(Seq2SeqCacheGraphs.CROSS_BIAS);
        }

        private void put(String name) {
            cross.put(name, (OnnxTensor) result.get(name).orElseThrow());
        }

        @Override
        public void close() {
            result.close();
        }
    }

    /** Runs the encoder once: every decoder layer's cross keys and values of this source, and its padding bias. */
    private Encoded encode(int[] source) throws OrtException {
        long[] src = Arrays.stream(source).asLongStream().toArray();
        try (OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(src), new long[] {1, src.length});
             OnnxTensor len = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {src.length}), new long[] {1})) {
            return new Encoded(encoder.run(Map.of(Seq2SeqGraphs.SRC, x, Seq2SeqGraphs.SRC_LENGTHS, len)));
        }
    }

    /**
     * The step's tensors for one batch size, bound once and reused by every step of every decode
     * (the step graph has the same shapes at every position): the tokens, the position, the
     * fixed-size pasts (keys [B, NH, HS, T], values [B, NH, T, HS], views of the arena) and, as pinned outputs, the
     * logits [B, V] and the new keys and values [B, C]. All live in direct buffers that ORT reads
     * and writes in place, so a step copies only the new token's keys and values into the past.
     */
    private final class StepBuffers implements AutoCloseable {
        final int rows;
        final LongBuffer tokens;
        /** Per layer * 2 + k|v: keys [B, NH, HS, T], values [B, NH, T, HS]; a row is one contiguous block. */
        final FloatBuffer[] past = new FloatBuffer[2 * layers];
        /** Per layer * 2 + k|v: [B, C]. */
        final FloatBuffer[] fresh = new FloatBuffer[2 * layers];
        final FloatBuffer logits;
        /** The last step's logits [B, V] as an array, valid until the next step of this batch size. */
        final float[] logitsCopy;
        final Map<String, OnnxTensor> inputs = new HashMap<>();
        final Map<String, OnnxTensor> outputs = new HashMap<>();

        StepBuffers(int rows) throws OrtException {
            this.rows = rows;
            try {
                tokens = ByteBuffer.allocateDirect(rows * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
                inputs.put(Seq2SeqGraphs.TGT_IN, OnnxTensor.createTensor(env, tokens, new long[] {rows}));
                inputs.put(Seq2SeqCacheGraphs.POSITION, OnnxTensor.createTensor(env, position, new long[] {1}));
                for (int layer = 0; layer < layers; layer++) {
                    for (int kv = 0; kv < 2; kv++) {
                        int t = layer * 2 + kv;
                        past[t] = pastArena[t].duplicate().position(0).limit(maxPositions * rows * width).slice();
                        fresh[t] = floats(rows * width);
                        long[] shape = kv == 0 ? new long[] {rows, nHead, headSize, maxPositions}
                                : new long[] {rows, nHead, maxPositions, headSize};
                        inputs.put(kv == 0 ? Seq2SeqCacheGraphs.pastKey(layer) : Seq2SeqCacheGraphs.pastValue(layer),
                                OnnxTensor.createTensor(env, past[t], shape));
                        outputs.put(kv == 0 ? Seq2SeqCacheGraphs.newKey(layer) : Seq2SeqCacheGraphs.newValue(layer),
                                OnnxTensor.createTensor(env, fresh[t], new long[] {rows, width}));
                    }
                }
                logits = floats(rows * cfg.vocabSize());
                logitsCopy = new float[rows * cfg.vocabSize()];
                outputs.put(Seq2SeqGraphs.LOGITS, OnnxTensor.createTensor(env, logits, new long[] {rows, cfg.vocabSize()}));
            } catch (OrtException | RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public void close() {
            inputs.values().forEach(OnnxTensor::close);
            outputs.values().forEach(OnnxTensor::close);
        }
    }

    private static FloatBuffer floats(int n) {
        return ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /**
     * Makes the pasts' memory hold {@code rows} rows. Called before a decode, never during one:
     * growing it drops every batch size's buffers.
     */
    private void reserveRows(int rows) {
        if (rows <= arenaRows) {
            return;
        }
        buffersByRows.values().forEach(StepBuffers::close);
        buffersByRows.clear();
        pastArena = new FloatBuffer[2 * layers];
        for (int t = 0; t < pastArena.length; t++) {
            pastArena[t] = floats(maxPositions * rows * width);
        }
        arenaRows = rows;
    }

    /** The step buffers of {@code rows} rows (at most the reserved rows), made on first use and kept. */
    private StepBuffers buffers(int rows) throws OrtException {
        if (rows > arenaRows) {
            throw new IllegalStateException(rows + " rows but room for " + arenaRows + " reserved");
        }
        StepBuffers b = buffersByRows.get(rows);
        if (b == null) {
            b = new StepBuffers(rows);
            buffersByRows.put(rows, b);
        }
        return b;
    }

    /**
     * The self-attention keys and values of the tokens fed so far: the first {@code positions}
     * positions of a {@link StepBuffers}' pasts. At most one cache is live at a time, since the
     * buffers are shared by every decode.
     */
    private final class Cache {
        final Encoded enc;
        StepBuffers buffers;
        /** The step's inputs: the buffers' and the encoder's tensors. */
        final Map<String, OnnxTensor> inputs = new HashMap<>();
        int positions;

        Cache(Encoded enc, int rows) throws OrtException {
            this.enc = enc;
            bind(buffers(rows));
        }

        private void bind(StepBuffers to) {
            buffers = to;
            inputs.clear();
            inputs.putAll(to.inputs);
            inputs.putAll(enc.cross);
        }

        int rows() {
            return buffers.rows;
        }

        /** Row r of the next step continues row origins[r] of this one (beam search). */
        void reorder(int[] origins) throws OrtException {
            StepBuffers from = buffers;
            boolean identity = origins.length == from.rows;
            for (int r = 0; r < origins.length && identity; r++) {
                identity = origins[r] == r;
            }
            if (identity) {
                return;                                 // every row continues itself: nothing moves
            }
            StepBuffers to = buffers(origins.length);
            int rowFloats = width * maxPositions;
            if (reorderScratch.length < from.rows * rowFloats) {
                reorderScratch = new float[arenaRows * rowFloats];
            }
            for (int t = 0; t < 2 * layers; t++) {
                from.past[t].get(0, reorderScratch, 0, from.rows * rowFloats); // a copy first: from and to share the arena
                for (int r = 0; r < origins.length; r++) {
                    to.past[t].put(r * rowFloats, reorderScratch, origins[r] * rowFloats, rowFloats);
                }
            }
            bind(to);
        }
    }

    /**
     * One decoder step over {@code tokens.length} rows: returns logits [rows, V] (an array reused by
     * the next step) and grows the cache.
     */
    private float[] run(Cache cache, long[] tokens) throws OrtException {
        int b = tokens.length;
        if (b != cache.rows()) {
            throw new IllegalStateException(b + " tokens for " + cache.rows() + " cached rows");
        }
        if (cache.positions >= maxPositions) {
            throw new IllegalStateException("the target positions (" + maxPositions + ") are used up");
        }
        StepBuffers buf = cache.buffers;
        buf.tokens.put(0, tokens);
        position.put(0, cache.positions);
        step.run(cache.inputs, buf.outputs).close();
        // The new token's keys and values [B, C] = [B * NH, HS] become position P of the past:
        // column P of the keys [B * NH, HS, T], row P of the values [B * NH, T, HS].
        int p = cache.positions;
        for (int layer = 0; layer < layers; layer++) {
            FloatBuffer key = buf.fresh[2 * layer];
            FloatBuffer pastKey = buf.past[2 * layer];
            for (int i = 0; i < b * width; i++) {
                pastKey.put(i * maxPositions + p, key.get(i));
            }
            FloatBuffer pastValue = buf.past[2 * layer + 1];
            for (int bh = 0; bh < b * nHead; bh++) {
                pastValue.put((bh * maxPositions + p) * headSize, buf.fresh[2 * layer + 1], bh * headSize, headSize);
            }
        }
        cache.positions++;
        buf.logits.get(0, buf.logitsCopy);                                              // [B, V]
        return buf.logitsCopy;
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
        buffersByRows.values().forEach(StepBuffers::close);
        buffersByRows.clear();
        encoder.close();
        step.close();
    }
}
