package io.troupe.worker.run;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterLayout;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * The model {@link ModelExport} writes, opened the way {@code troupe generate} opens it (all
 * graph optimizations, here one thread), for tests that check its logits.
 */
final class ExportedLogits implements AutoCloseable {
    private final OrtSession session;

    private ExportedLogits(OrtSession session) {
        this.session = session;
    }

    /** Exports {@code params} to {@code dir/model.onnx} and opens it. */
    static ExportedLogits export(Path dir, GptConfig cfg, float[] params) throws Exception {
        Path file = ModelExport.write(dir, cfg, params);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return new ExportedLogits(env.createSession(file.toString(), options));
        }
    }

    /**
     * Logits for a batch of equally long token sequences.
     *
     * @param ids [B][T]
     * @return [B][T][V]
     */
    float[][][] run(long[][] ids) throws OrtException {
        int b = ids.length;
        int t = ids[0].length;
        LongBuffer flat = LongBuffer.allocate(b * t);
        for (long[] row : ids) {
            flat.put(row);
        }
        flat.flip();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OnnxTensor input = OnnxTensor.createTensor(env, flat, new long[] {b, t});
             OrtSession.Result result = session.run(Map.of(GptGraphs.INPUT_IDS, input))) {
            return (float[][][]) result.get(GptGraphs.LOGITS).orElseThrow().getValue();
        }
    }

    /**
     * Parameters drawn from {@code seed}, large enough that every nonlinearity works away from
     * its linear region (GELU inputs spread over about [-4, 4], attention far from uniform).
     */
    static float[] randomParameters(GptConfig cfg, long seed) {
        ParameterLayout layout = ParameterLayout.of(cfg);
        float[] p = new float[Math.toIntExact(layout.size())];
        Random random = new Random(seed);
        for (ParameterLayout.View v : layout.views()) {
            boolean layerNormScale = v.name().startsWith("ln_f.weight") || v.name().endsWith("ln_1.weight")
                    || v.name().endsWith("ln_2.weight");
            double scale = v.name().equals("wte") || v.name().equals("wpe") ? 1.0
                    : v.name().endsWith(".bias") ? 0.2 : layerNormScale ? 0.3 : 0.5;
            for (long i = 0; i < v.length(); i++) {
                double g = random.nextGaussian() * scale;
                p[(int) (v.offset() + i)] = (float) (layerNormScale ? 1 + g : g);
            }
        }
        return p;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
