package io.troupe.model.seq2seq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cached step graph (fused LayerNorm, split projections with the scale in the Gemm, fixed-size
 * masked past) computes what the training forward computes: stepping two rows one token at a time
 * over a padded source gives, at every position, the logits of the full-prefix decoder inference
 * graph (built by the training code) to 1e-5.
 */
class Seq2SeqStepGraphTest {
    /** 2 heads of 12: 1/sqrt(12) is not a power of two, so the scale folded into the Gemm rounds. */
    private static final Seq2SeqConfig CFG = new Seq2SeqConfig(17, 10, 9, 2, 2, 2, 24, 40, 0.0, 0.1);
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static OrtSession encoder;
    private static OrtSession decoder;
    private static OrtSession cacheEncoder;
    private static OrtSession step;

    @BeforeAll
    static void sessions() throws Exception {
        float[] params = Seq2SeqInit.initial(CFG, 3);
        Random r = new Random(3);
        for (int i = 0; i < params.length; i++) {
            params[i] += (float) (0.2 * r.nextGaussian()); // larger than the init, so every path matters
        }
        FloatBuffer p = FloatBuffer.wrap(params);
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        encoder = ENV.createSession(Seq2SeqGraphs.encoderInference(CFG, p).toBytes(), options);
        decoder = ENV.createSession(Seq2SeqGraphs.decoderInference(CFG, p).toBytes(), options);
        cacheEncoder = ENV.createSession(Seq2SeqCacheGraphs.encoder(CFG, p).toBytes(), options);
        step = ENV.createSession(Seq2SeqCacheGraphs.step(CFG, p).toBytes(), options);
    }

    @AfterAll
    static void close() throws Exception {
        for (OrtSession s : List.of(encoder, decoder, cacheEncoder, step)) {
            s.close();
        }
    }

    private static float[] read(OrtSession.Result r, String name) {
        FloatBuffer b = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
        float[] a = new float[b.remaining()];
        b.get(a);
        return a;
    }

    /** The full-prefix decoder's logits [T, V] for one row, the source unpadded. */
    private static float[] reference(long[] src, long[] tgt) throws Exception {
        try (OnnxTensor x = OnnxTensor.createTensor(ENV, LongBuffer.wrap(src), new long[] {1, src.length});
             OnnxTensor len = OnnxTensor.createTensor(ENV, LongBuffer.wrap(new long[] {src.length}), new long[] {1});
             OrtSession.Result enc = encoder.run(Map.of(Seq2SeqGraphs.SRC, x, Seq2SeqGraphs.SRC_LENGTHS, len));
             OnnxTensor y = OnnxTensor.createTensor(ENV, LongBuffer.wrap(tgt), new long[] {1, tgt.length});
             OrtSession.Result dec = decoder.run(Map.of(Seq2SeqGraphs.MEMORY, (OnnxTensor) enc.get(Seq2SeqGraphs.MEMORY).orElseThrow(),
                     Seq2SeqGraphs.SRC_LENGTHS, len, Seq2SeqGraphs.TGT_IN, y))) {
            return read(dec, Seq2SeqGraphs.LOGITS);
        }
    }

    @Test
    void steppingTwoRowsGivesTheFullDecodersLogitsAtEveryPosition() throws Exception {
        long[] src = {3, 1, 4, 1, 5};
        long[] padded = {3, 1, 4, 1, 5, 9, 2};                    // two padding tokens, masked by the bias
        long[][] rows = {{16, 8, 2, 7, 7, 11, 0, 5, 13}, {16, 4, 4, 9, 1, 3, 12, 6, 10}};
        int b = rows.length;
        int n = rows[0].length;                                   // every position of maxTarget
        int v = CFG.vocabSize();
        int c = CFG.nEmbd();
        int nh = CFG.nHead();
        int hs = c / nh;
        int t = CFG.maxTarget();
        float[][] want = {reference(src, rows[0]), reference(src, rows[1])};
        float[][] past = new float[2 * CFG.decoderLayers()][b * c * t];  // keys [B, NH, HS, T], values [B, NH, T, HS]
        double worst = 0;
        double diffBetweenRows = 0;
        try (OnnxTensor x = OnnxTensor.createTensor(ENV, LongBuffer.wrap(padded), new long[] {1, padded.length});
             OnnxTensor len = OnnxTensor.createTensor(ENV, LongBuffer.wrap(new long[] {src.length}), new long[] {1});
             OrtSession.Result enc = cacheEncoder.run(Map.of(Seq2SeqGraphs.SRC, x, Seq2SeqGraphs.SRC_LENGTHS, len))) {
            for (int p = 0; p < n; p++) {
                Map<String, OnnxTensor> in = new HashMap<>();
                List<OnnxTensor> owned = new ArrayList<>();
                try {
                    for (int layer = 0; layer < CFG.decoderLayers(); layer++) {
                        in.put(Seq2SeqCacheGraphs.crossKey(layer), (OnnxTensor) enc.get(Seq2SeqCacheGraphs.crossKey(layer)).orElseThrow());
                        in.put(Seq2SeqCacheGraphs.crossValue(layer), (OnnxTensor) enc.get(Seq2SeqCacheGraphs.crossValue(layer)).orElseThrow());
                        owned.add(OnnxTensor.createTensor(ENV, FloatBuffer.wrap(past[2 * layer]), new long[] {b, nh, hs, t}));
                        in.put(Seq2SeqCacheGraphs.pastKey(layer), owned.get(owned.size() - 1));
                        owned.add(OnnxTensor.createTensor(ENV, FloatBuffer.wrap(past[2 * layer + 1]), new long[] {b, nh, t, hs}));
                        in.put(Seq2SeqCacheGraphs.pastValue(layer), owned.get(owned.size() - 1));
                    }
                    in.put(Seq2SeqCacheGraphs.CROSS_BIAS, (OnnxTensor) enc.get(Seq2SeqCacheGraphs.CROSS_BIAS).orElseThrow());
                    owned.add(OnnxTensor.createTensor(ENV, LongBuffer.wrap(new long[] {rows[0][p], rows[1][p]}), new long[] {b}));
                    in.put(Seq2SeqGraphs.TGT_IN, owned.get(owned.size() - 1));
                    owned.add(OnnxTensor.createTensor(ENV, LongBuffer.wrap(new long[] {p}), new long[] {1}));
                    in.put(Seq2SeqCacheGraphs.POSITION, owned.get(owned.size() - 1));
                    try (OrtSession.Result r = step.run(in)) {
                        float[] logits = read(r, Seq2SeqGraphs.LOGITS);                 // [B, V]
                        for (int row = 0; row < b; row++) {
                            for (int k = 0; k < v; k++) {
                                float expected = want[row][p * v + k];
                                float got = logits[row * v + k];
                                worst = Math.max(worst, Math.abs(expected - got) / Math.max(1, Math.abs(expected)));
                                diffBetweenRows += Math.abs(logits[k] - logits[v + k]);
                            }
                        }
                        for (int layer = 0; layer < CFG.decoderLayers(); layer++) {
                            float[] key = read(r, Seq2SeqCacheGraphs.newKey(layer));    // [B, C] = [B * NH, HS]
                            float[] value = read(r, Seq2SeqCacheGraphs.newValue(layer));
                            for (int i = 0; i < b * c; i++) {
                                past[2 * layer][i * t + p] = key[i];
                            }
                            for (int bh = 0; bh < b * nh; bh++) {
                                System.arraycopy(value, bh * hs, past[2 * layer + 1], (bh * t + p) * hs, hs);
                            }
                        }
                    }
                } finally {
                    owned.forEach(OnnxTensor::close);
                }
            }
        }
        assertTrue(worst <= 1e-5, "step logits differ from the full decoder's by " + worst + " (relative)");
        assertTrue(diffBetweenRows > 1, "the two rows must decode differently, diff " + diffBetweenRows);
    }

    @Test
    void theStepGraphIsLeanerThanTheTrainingBlocks() {
        long layerNorms = Seq2SeqCacheGraphs.step(CFG, FloatBuffer.wrap(new float[(int) CFG.layout().size()]))
                .nodes().stream().filter(node -> node.opType().equals("LayerNormalization")).count();
        assertEquals(3L * CFG.decoderLayers() + 1, layerNorms, "one fused LayerNormalization per norm");
    }
}
