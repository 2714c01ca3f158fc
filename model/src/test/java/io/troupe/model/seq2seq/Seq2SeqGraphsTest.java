package io.troupe.model.seq2seq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.DType;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The masks of the encoder-decoder: causal decoding, and padding on either side never reaching real positions. */
class Seq2SeqGraphsTest {
    private static final Seq2SeqConfig CFG = new Seq2SeqConfig(17, 10, 10, 2, 2, 2, 16, 24, 0.0, 0.1);
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static float[] params;
    private static OrtSession encoder;
    private static OrtSession decoder;

    @BeforeAll
    static void sessions() throws Exception {
        params = Seq2SeqInit.initial(CFG, 5);
        Random r = new Random(5);
        for (int i = 0; i < params.length; i++) {
            params[i] += (float) (0.1 * r.nextGaussian()); // larger than the init, so every path matters
        }
        encoder = ENV.createSession(Seq2SeqGraphs.encoderInference(CFG, FloatBuffer.wrap(params)).toBytes(),
                new OrtSession.SessionOptions());
        decoder = ENV.createSession(Seq2SeqGraphs.decoderInference(CFG, FloatBuffer.wrap(params)).toBytes(),
                new OrtSession.SessionOptions());
    }

    @AfterAll
    static void close() throws Exception {
        encoder.close();
        decoder.close();
    }

    private static float[] read(OrtSession.Result r, String name) throws Exception {
        FloatBuffer b = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
        float[] a = new float[b.remaining()];
        b.get(a);
        return a;
    }

    private static float[] encode(long[] src, long[] lengths, int b, int s) throws Exception {
        try (OnnxTensor x = OnnxTensor.createTensor(ENV, LongBuffer.wrap(src), new long[] {b, s});
             OnnxTensor l = OnnxTensor.createTensor(ENV, LongBuffer.wrap(lengths), new long[] {b});
             OrtSession.Result r = encoder.run(Map.of(Seq2SeqGraphs.SRC, x, Seq2SeqGraphs.SRC_LENGTHS, l))) {
            return read(r, Seq2SeqGraphs.MEMORY);
        }
    }

    private static float[] decode(float[] memory, long[] lengths, long[] tgt, int b, int s, int t) throws Exception {
        try (OnnxTensor m = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(memory), new long[] {b, s, CFG.nEmbd()});
             OnnxTensor l = OnnxTensor.createTensor(ENV, LongBuffer.wrap(lengths), new long[] {b});
             OnnxTensor y = OnnxTensor.createTensor(ENV, LongBuffer.wrap(tgt), new long[] {b, t});
             OrtSession.Result r = decoder.run(Map.of(Seq2SeqGraphs.MEMORY, m, Seq2SeqGraphs.SRC_LENGTHS, l,
                     Seq2SeqGraphs.TGT_IN, y))) {
            return read(r, Seq2SeqGraphs.LOGITS);
        }
    }

    @Test
    void aDecoderPositionNeverSeesALaterTargetToken() throws Exception {
        long[] src = {3, 1, 4, 1, 5};
        float[] memory = encode(src, new long[] {5}, 1, 5);
        long[] a = {1, 7, 2, 9, 4, 6};
        long[] b = a.clone();
        b[3] = 11;                                   // change position 3 only
        float[] la = decode(memory, new long[] {5}, a, 1, 5, 6);
        float[] lb = decode(memory, new long[] {5}, b, 1, 5, 6);
        int v = CFG.vocabSize();
        for (int i = 0; i < 3 * v; i++) {            // positions 0..2 are untouched
            assertEquals(la[i], lb[i], 0f, "position " + i / v + " saw a later token");
        }
        double diff = 0;
        for (int i = 3 * v; i < 6 * v; i++) {
            diff += Math.abs(la[i] - lb[i]);
        }
        assertTrue(diff > 1e-3, "positions 3.. must see the changed token, diff " + diff);
    }

    @Test
    void paddingOnEitherSideNeverChangesRealPositions() throws Exception {
        long[][] sources = {{3, 1, 4, 1, 5}, {9, 2}, {6, 5, 3, 5, 8, 9, 7}};
        long[][] targets = {{1, 8, 2}, {1, 4, 4, 6, 2}, {1}};
        int s = 8;
        int t = 6;
        int c = CFG.nEmbd();
        int v = CFG.vocabSize();
        long[] src = new long[sources.length * s];
        long[] srcLengths = new long[sources.length];
        long[] tgt = new long[sources.length * t];
        for (int b = 0; b < sources.length; b++) {
            for (int i = 0; i < s; i++) {
                src[b * s + i] = i < sources[b].length ? sources[b][i] : (7 + i + b) % 17; // varied pad ids
            }
            for (int i = 0; i < t; i++) {
                tgt[b * t + i] = i < targets[b].length ? targets[b][i] : (3 + 2 * i + b) % 17;
            }
            srcLengths[b] = sources[b].length;
        }
        float[] memory = encode(src, srcLengths, sources.length, s);
        float[] logits = decode(memory, srcLengths, tgt, sources.length, s, t);
        for (int b = 0; b < sources.length; b++) {
            int n = sources[b].length;
            int m = targets[b].length;
            float[] aloneMemory = encode(sources[b], new long[] {n}, 1, n);
            for (int i = 0; i < n * c; i++) {
                assertEquals(aloneMemory[i], memory[b * s * c + i], 1e-5, "memory row " + b + " value " + i);
            }
            float[] alone = decode(aloneMemory, new long[] {n}, targets[b], 1, n, m);
            for (int i = 0; i < m * v; i++) {
                assertEquals(alone[i], logits[b * t * v + i], 1e-4, "logits row " + b + " value " + i);
            }
        }
    }

    @Test
    void theLossIsLabelSmoothedCrossEntropyOverRealTargetsOnly() throws Exception {
        long[] src = {3, 1, 4, 0, 9, 2, 0, 0};
        long[] srcLengths = {3, 2};
        long[] tgtIn = {1, 5, 6, 7, 1, 8, 0, 0};
        long[] targets = {5, 6, 7, 2, 8, 2, Seq2SeqGraphs.IGNORE, Seq2SeqGraphs.IGNORE};
        long[] tgtInOtherPad = {1, 5, 6, 7, 1, 8, 13, 4};
        double smoothed = loss(CFG, src, srcLengths, tgtIn, targets);
        assertEquals(smoothed, loss(CFG, src, srcLengths, tgtInOtherPad, targets), 1e-6);
        // The reference: the inference graphs' logits, and -sum_v q_v log p_v with
        // q = (1 - eps) onehot + eps / V, averaged over the six real target tokens.
        float[] memory = encode(src, srcLengths, 2, 4);
        float[] logits = decode(memory, srcLengths, tgtIn, 2, 4, 4);
        int v = CFG.vocabSize();
        double eps = CFG.labelSmoothing();
        double sum = 0;
        int count = 0;
        for (int row = 0; row < targets.length; row++) {
            if (targets[row] == Seq2SeqGraphs.IGNORE) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < v; k++) {
                max = Math.max(max, logits[row * v + k]);
            }
            double z = 0;
            for (int k = 0; k < v; k++) {
                z += Math.exp(logits[row * v + k] - max);
            }
            double lse = max + Math.log(z);
            for (int k = 0; k < v; k++) {
                double q = (k == targets[row] ? 1 - eps : 0) + eps / v;
                sum += q * (lse - logits[row * v + k]);
            }
            count++;
        }
        assertEquals(sum / count, smoothed, 1e-4);
        Seq2SeqConfig plain = new Seq2SeqConfig(17, 10, 10, 2, 2, 2, 16, 24, 0.0, 0.0);
        assertTrue(Math.abs(loss(plain, src, srcLengths, tgtIn, targets) - smoothed) > 1e-4, "smoothing must change the loss");
    }

    private static double loss(Seq2SeqConfig cfg, long[] src, long[] srcLengths, long[] tgtIn, long[] targets)
            throws Exception {
        Seq2SeqGraphs.Built built = Seq2SeqGraphs.evaluation(cfg, 2, 4, 4, DType.FLOAT);
        Map<String, OnnxTensor> in = new HashMap<>();
        try (OrtSession s = ENV.createSession(built.toBytes(), new OrtSession.SessionOptions())) {
            for (ParameterLayout.View view : cfg.layout().views()) {
                float[] w = Arrays.copyOfRange(params, (int) view.offset(), (int) (view.offset() + view.length()));
                in.put(view.name(), OnnxTensor.createTensor(ENV, FloatBuffer.wrap(w), view.shape()));
            }
            in.put(Seq2SeqGraphs.SRC, OnnxTensor.createTensor(ENV, LongBuffer.wrap(src), new long[] {2, 4}));
            in.put(Seq2SeqGraphs.SRC_LENGTHS, OnnxTensor.createTensor(ENV, LongBuffer.wrap(srcLengths), new long[] {2}));
            in.put(Seq2SeqGraphs.TGT_IN, OnnxTensor.createTensor(ENV, LongBuffer.wrap(tgtIn), new long[] {2, 4}));
            in.put(Seq2SeqGraphs.TARGETS, OnnxTensor.createTensor(ENV, LongBuffer.wrap(targets), new long[] {2, 4}));
            try (OrtSession.Result r = s.run(in)) {
                assertEquals(6f, read(r, Seq2SeqGraphs.TOKEN_COUNT)[0]);
                return read(r, Seq2SeqGraphs.LOSS)[0];
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }
}
