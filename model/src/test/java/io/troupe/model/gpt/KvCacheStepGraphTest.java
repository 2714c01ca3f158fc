package io.troupe.model.gpt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.troupe.model.graph.Graph;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The decode step graph against the uncached inference graph and the Hugging Face decoder: two
 * rows of different lengths in one fixed-room past, whose positions a row does not hold are
 * large finite garbage (the bias must hide them exactly), give each row's uncached logits and
 * the keys and values a longer prefill computes for the new position.
 */
class KvCacheStepGraphTest {
    private static final GptConfig TINY = new GptConfig(13, 8, 2, 2, 16, 0.0, true, false);
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static OrtSession uncached;
    private static OrtSession decoder;
    private static OrtSession step;

    @BeforeAll
    static void build() throws Exception {
        float[] params = ParameterInit.gpt2(TINY, ParameterLayout.of(TINY), 5);
        for (int i = 0; i < params.length; i++) {
            params[i] *= 20; // sharp attention, so a wrong mask or position shows
        }
        uncached = session(GptGraphs.inference(TINY, FloatBuffer.wrap(params)));
        decoder = session(KvCacheGraphs.decoder(TINY, FloatBuffer.wrap(params)));
        step = session(KvCacheStepGraph.build(TINY, FloatBuffer.wrap(params)));
    }

    private static OrtSession session(Graph graph) throws Exception {
        return ENV.createSession(graph.toBytes(), new OrtSession.SessionOptions());
    }

    @AfterAll
    static void close() throws Exception {
        uncached.close();
        decoder.close();
        step.close();
    }

    /** Uncached logits [T][V] of one sequence. */
    private static float[][] reference(long[] ids) throws Exception {
        try (OnnxTensor in = OnnxTensor.createTensor(ENV, LongBuffer.wrap(ids), new long[] {1, ids.length});
             OrtSession.Result r = uncached.run(Map.of(GptGraphs.INPUT_IDS, in))) {
            return ((float[][][]) r.get(GptGraphs.LOGITS).orElseThrow().getValue())[0];
        }
    }

    /** The decoder's present [layer][k|v][NH * n * HS] after a prefill of {@code ids} alone. */
    private static float[][][] prefill(long[] ids) throws Exception {
        int n = ids.length;
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            long[] mask = new long[n];
            long[] positions = new long[n];
            for (int i = 0; i < n; i++) {
                mask[i] = 1;
                positions[i] = i;
            }
            in.put(KvCacheGraphs.INPUT_IDS, OnnxTensor.createTensor(ENV, LongBuffer.wrap(ids), new long[] {1, n}));
            in.put(KvCacheGraphs.ATTENTION_MASK, OnnxTensor.createTensor(ENV, LongBuffer.wrap(mask), new long[] {1, n}));
            in.put(KvCacheGraphs.POSITION_IDS, OnnxTensor.createTensor(ENV, LongBuffer.wrap(positions), new long[] {1, n}));
            long[] empty = {1, TINY.nHead(), 0, TINY.headSize()};
            for (int l = 0; l < TINY.nLayer(); l++) {
                in.put(KvCacheGraphs.pastKey(l), OnnxTensor.createTensor(ENV, FloatBuffer.allocate(0), empty));
                in.put(KvCacheGraphs.pastValue(l), OnnxTensor.createTensor(ENV, FloatBuffer.allocate(0), empty));
            }
            try (OrtSession.Result r = decoder.run(in)) {
                float[][][] present = new float[TINY.nLayer()][2][];
                for (int l = 0; l < TINY.nLayer(); l++) {
                    for (int kv = 0; kv < 2; kv++) {
                        String name = kv == 0 ? KvCacheGraphs.presentKey(l) : KvCacheGraphs.presentValue(l);
                        FloatBuffer fb = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
                        present[l][kv] = new float[fb.remaining()];
                        fb.get(present[l][kv]);
                    }
                }
                return present;
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void twoRowsOverGarbageInTheirUnheldPositionsGiveTheUncachedLogitsAndTheNewKeysAndValues() throws Exception {
        Random random = new Random(8);
        int room = TINY.blockSize();
        int nh = TINY.nHead();
        int hs = TINY.headSize();
        int c = TINY.nEmbd();
        int[] held = {2, 6};                      // row 0 holds 2 positions, row 1 holds 6
        long[][] sequences = new long[2][];
        for (int b = 0; b < 2; b++) {
            sequences[b] = new long[held[b] + 1];
            for (int i = 0; i < sequences[b].length; i++) {
                sequences[b][i] = random.nextInt(TINY.vocabSize());
            }
        }
        // past [B, NH, room, HS] per layer and k|v: each row's prefix from a prefill, garbage after it.
        float[][][] past = new float[TINY.nLayer()][2][2 * nh * room * hs];
        float[] bias = new float[2 * room];
        for (int b = 0; b < 2; b++) {
            float[][][] present = prefill(java.util.Arrays.copyOf(sequences[b], held[b]));
            for (int l = 0; l < TINY.nLayer(); l++) {
                for (int kv = 0; kv < 2; kv++) {
                    for (int h = 0; h < nh; h++) {
                        for (int p = 0; p < room; p++) {
                            for (int d = 0; d < hs; d++) {
                                past[l][kv][((b * nh + h) * room + p) * hs + d] = p < held[b]
                                        ? present[l][kv][(h * held[b] + p) * hs + d] : 1000f * (random.nextFloat() - 0.5f);
                            }
                        }
                    }
                }
            }
            for (int p = 0; p < room; p++) {
                bias[b * room + p] = p < held[b] ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put(KvCacheStepGraph.INPUT_IDS, OnnxTensor.createTensor(ENV,
                    LongBuffer.wrap(new long[] {sequences[0][held[0]], sequences[1][held[1]]}), new long[] {2}));
            in.put(KvCacheStepGraph.POSITION_IDS, OnnxTensor.createTensor(ENV,
                    LongBuffer.wrap(new long[] {held[0], held[1]}), new long[] {2}));
            in.put(KvCacheStepGraph.PAST_BIAS, OnnxTensor.createTensor(ENV, FloatBuffer.wrap(bias), new long[] {2, room}));
            long[] shape = {2, nh, room, hs};
            for (int l = 0; l < TINY.nLayer(); l++) {
                in.put(KvCacheGraphs.pastKey(l), OnnxTensor.createTensor(ENV, FloatBuffer.wrap(past[l][0]), shape));
                in.put(KvCacheGraphs.pastValue(l), OnnxTensor.createTensor(ENV, FloatBuffer.wrap(past[l][1]), shape));
            }
            try (OrtSession.Result r = step.run(in)) {
                float[][] logits = (float[][]) r.get(KvCacheStepGraph.LOGITS).orElseThrow().getValue();
                for (int b = 0; b < 2; b++) {
                    assertClose(reference(sequences[b])[held[b]], logits[b], "row " + b + " logits");
                    float[][][] longer = prefill(sequences[b]);
                    for (int l = 0; l < TINY.nLayer(); l++) {
                        for (int kv = 0; kv < 2; kv++) {
                            float[][] fresh = (float[][]) r.get(kv == 0 ? KvCacheStepGraph.newKey(l)
                                    : KvCacheStepGraph.newValue(l)).orElseThrow().getValue();   // [B, C]
                            float[] expected = new float[c];
                            for (int h = 0; h < nh; h++) {
                                System.arraycopy(longer[l][kv], (h * (held[b] + 1) + held[b]) * hs, expected, h * hs, hs);
                            }
                            assertClose(expected, fresh[b], "row " + b + " layer " + l + (kv == 0 ? " key" : " value"));
                        }
                    }
                }
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    @Test
    void theNewKeysAndValuesAreTheSplitsOwnOutputsNotCopies() {
        Graph graph = KvCacheStepGraph.build(TINY, FloatBuffer.wrap(new float[(int) ParameterLayout.of(TINY).size()]));
        for (int l = 0; l < TINY.nLayer(); l++) {
            for (String name : new String[] {KvCacheStepGraph.newKey(l), KvCacheStepGraph.newValue(l)}) {
                assertEquals("Split", graph.outputs().get(name).producer().opType(), name);
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-3 * Math.max(1, Math.abs(expected[i])), what + " [" + i + "]");
        }
    }
}
