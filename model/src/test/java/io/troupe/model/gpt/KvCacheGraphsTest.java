package io.troupe.model.gpt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The decoder graph against the uncached inference graph: same logits, whatever the split into past and new. */
class KvCacheGraphsTest {
    private static final GptConfig TINY = new GptConfig(13, 8, 2, 2, 16, 0.0, true, false);
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static OrtSession uncached;
    private static OrtSession decoder;

    @BeforeAll
    static void build() throws Exception {
        float[] params = ParameterInit.gpt2(TINY, ParameterLayout.of(TINY), 3);
        // Larger than GPT-2 init so that attention is far from uniform and a wrong mask shows.
        for (int i = 0; i < params.length; i++) {
            params[i] *= 20;
        }
        uncached = ENV.createSession(GptGraphs.inference(TINY, FloatBuffer.wrap(params)).toBytes(),
                new OrtSession.SessionOptions());
        decoder = ENV.createSession(KvCacheGraphs.decoder(TINY, FloatBuffer.wrap(params)).toBytes(),
                new OrtSession.SessionOptions());
    }

    @AfterAll
    static void close() throws Exception {
        uncached.close();
        decoder.close();
    }

    private static long[] tokens(int n, long seed) {
        Random r = new Random(seed);
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(TINY.vocabSize());
        }
        return ids;
    }

    /** Uncached logits [T][V] of one sequence. */
    private static float[][] reference(long[] ids) throws Exception {
        try (OnnxTensor in = OnnxTensor.createTensor(ENV, LongBuffer.wrap(ids), new long[] {1, ids.length});
             OrtSession.Result r = uncached.run(Map.of(GptGraphs.INPUT_IDS, in))) {
            return ((float[][][]) r.get(GptGraphs.LOGITS).orElseThrow().getValue())[0];
        }
    }

    /** One decoder run; past is [layer][k|v][B * NH * P * HS]; returns logits [B][S][V] and present. */
    private record Step(float[][][] logits, float[][][] present, long presentLength) {
    }

    private static Step run(long[] ids, int batch, long[] mask, long[] positions, float[][][] past, int pastLength)
            throws Exception {
        int s = ids.length / batch;
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put(KvCacheGraphs.INPUT_IDS, OnnxTensor.createTensor(ENV, LongBuffer.wrap(ids), new long[] {batch, s}));
            in.put(KvCacheGraphs.ATTENTION_MASK,
                    OnnxTensor.createTensor(ENV, LongBuffer.wrap(mask), new long[] {batch, mask.length / batch}));
            in.put(KvCacheGraphs.POSITION_IDS, OnnxTensor.createTensor(ENV, LongBuffer.wrap(positions), new long[] {batch, s}));
            long[] pastShape = {batch, TINY.nHead(), pastLength, TINY.headSize()};
            for (int l = 0; l < TINY.nLayer(); l++) {
                in.put(KvCacheGraphs.pastKey(l), OnnxTensor.createTensor(ENV, FloatBuffer.wrap(past[l][0]), pastShape));
                in.put(KvCacheGraphs.pastValue(l), OnnxTensor.createTensor(ENV, FloatBuffer.wrap(past[l][1]), pastShape));
            }
            try (OrtSession.Result r = decoder.run(in)) {
                float[][][] present = new float[TINY.nLayer()][2][];
                long length = 0;
                for (int l = 0; l < TINY.nLayer(); l++) {
                    for (int kv = 0; kv < 2; kv++) {
                        OnnxTensor t = (OnnxTensor) r.get(kv == 0 ? KvCacheGraphs.presentKey(l) : KvCacheGraphs.presentValue(l))
                                .orElseThrow();
                        length = t.getInfo().getShape()[2];
                        FloatBuffer fb = t.getFloatBuffer();
                        present[l][kv] = new float[fb.remaining()];
                        fb.get(present[l][kv]);
                    }
                }
                return new Step((float[][][]) r.get(KvCacheGraphs.LOGITS).orElseThrow().getValue(), present, length);
            }
        } finally {
            for (OnnxTensor t : in.values()) {
                t.close();
            }
        }
    }

    private static float[][][] emptyPast(int batch) {
        return new float[TINY.nLayer()][2][0];
    }

    private static long[] ones(int n) {
        long[] m = new long[n];
        java.util.Arrays.fill(m, 1);
        return m;
    }

    private static long[] range(int from, int to) {
        long[] p = new long[to - from];
        for (int i = from; i < to; i++) {
            p[i - from] = i;
        }
        return p;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-3 * Math.max(1, Math.abs(expected[i])), what + " [" + i + "]");
        }
    }

    @Test
    void thePresentOutputsAreTheConcatenationsThemselvesWithoutACopy() {
        io.troupe.model.graph.Graph graph = KvCacheGraphs.decoder(TINY,
                FloatBuffer.wrap(new float[(int) ParameterLayout.of(TINY).size()]));
        for (int l = 0; l < TINY.nLayer(); l++) {
            for (String name : new String[] {KvCacheGraphs.presentKey(l), KvCacheGraphs.presentValue(l)}) {
                assertEquals("Concat", graph.outputs().get(name).producer().opType(), name);
            }
        }
    }

    @Test
    void prefillWithAnEmptyPastGivesTheUncachedLogitsAtEveryPosition() throws Exception {
        long[] ids = tokens(TINY.blockSize(), 1);
        float[][] expected = reference(ids);
        Step step = run(ids, 1, ones(ids.length), range(0, ids.length), emptyPast(1), 0);
        assertEquals(ids.length, step.presentLength());
        for (int t = 0; t < ids.length; t++) {
            assertClose(expected[t], step.logits()[0][t], "position " + t);
        }
    }

    @Test
    void decodingOneTokenAtATimeAfterAPrefillGivesTheUncachedLogits() throws Exception {
        long[] ids = tokens(TINY.blockSize(), 2);
        float[][] expected = reference(ids);
        int prompt = 3;
        Step step = run(java.util.Arrays.copyOf(ids, prompt), 1, ones(prompt), range(0, prompt), emptyPast(1), 0);
        for (int t = prompt; t < ids.length; t++) {
            float[][][] past = step.present();
            step = run(new long[] {ids[t]}, 1, ones(t + 1), new long[] {t}, past, t);
            assertEquals(t + 1, step.presentLength());
            assertClose(expected[t], step.logits()[0][0], "decoded position " + t);
        }
    }

    @Test
    void sequencesOfDifferentLengthsInOneBatchDecodeAsEachAlone() throws Exception {
        long[] a = tokens(6, 3);
        long[] b = tokens(2, 4);
        float[][] expectedA = reference(a);
        float[][] expectedB = reference(b);
        // Each prefilled alone, all but its last token.
        Step pa = run(java.util.Arrays.copyOf(a, 5), 1, ones(5), range(0, 5), emptyPast(1), 0);
        Step pb = run(java.util.Arrays.copyOf(b, 1), 1, ones(1), range(0, 1), emptyPast(1), 0);
        // One batch: b's past (1 position) padded to a's (5); the new tokens go at index 5.
        int nh = TINY.nHead();
        int hs = TINY.headSize();
        int p = 5;
        float[][][] past = new float[TINY.nLayer()][2][2 * nh * p * hs];
        for (int l = 0; l < TINY.nLayer(); l++) {
            for (int kv = 0; kv < 2; kv++) {
                System.arraycopy(pa.present()[l][kv], 0, past[l][kv], 0, nh * p * hs);
                for (int h = 0; h < nh; h++) {
                    // Padding holds garbage on purpose: the mask must hide it.
                    for (int j = 0; j < p * hs; j++) {
                        past[l][kv][nh * p * hs + h * p * hs + j] = 1e3f;
                    }
                    System.arraycopy(pb.present()[l][kv], h * hs, past[l][kv], nh * p * hs + h * p * hs, hs);
                }
            }
        }
        long[] mask = {1, 1, 1, 1, 1, 1, /* b */ 1, 0, 0, 0, 0, 1};
        Step step = run(new long[] {a[5], b[1]}, 2, mask, new long[] {5, 1}, past, p);
        assertClose(expectedA[5], step.logits()[0][0], "a, batched");
        assertClose(expectedB[1], step.logits()[1][0], "b, batched with padding");
        assertArrayEquals(new long[] {6}, new long[] {step.presentLength()});
    }
}
