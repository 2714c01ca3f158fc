package io.troupe.model.seq2seq;

import io.troupe.model.gpt.ParameterLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/** GPT-2-style initial parameters for a {@link Seq2SeqConfig}: N(0, 0.02), scaled residual projections. */
public final class Seq2SeqInit {
    private Seq2SeqInit() {
    }

    /** The flat parameters, laid out as {@link Seq2SeqLayout#of}. */
    public static float[] initial(Seq2SeqConfig cfg, long seed) {
        ParameterLayout layout = cfg.layout();
        float[] params = new float[Math.toIntExact(layout.size())];
        SplittableRandom random = new SplittableRandom(seed);
        // Each residual branch adds to the stream; scale their output projections by depth.
        double residualStd = 0.02 / Math.sqrt(2.0 * (cfg.encoderLayers() + cfg.decoderLayers()));
        for (ParameterLayout.View v : layout.views()) {
            int from = (int) v.offset();
            int to = (int) (v.offset() + v.length());
            String name = v.name();
            if (name.endsWith(".bias")) {
                Arrays.fill(params, from, to, 0f);
            } else if (name.contains("ln_")) {
                Arrays.fill(params, from, to, 1f);
            } else {
                double std = name.endsWith("c_proj.weight") ? residualStd : 0.02;
                for (int i = from; i < to; i++) {
                    params[i] = (float) (random.nextGaussian() * std);
                }
            }
        }
        return params;
    }
}
