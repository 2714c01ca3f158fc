package io.troupe.model.gpt;

import java.util.Arrays;
import java.util.SplittableRandom;

/** GPT-2 / nanoGPT initialisation of a flat parameter buffer. */
public final class ParameterInit {
    private ParameterInit() {
    }

    /**
     * Normal(0, 0.02) weights and embeddings; residual projections (attn.c_proj, mlp.c_proj)
     * scaled to 0.02 / sqrt(2 L) so the residual stream's variance does not grow with depth;
     * zero biases; LayerNorm weights one.
     */
    public static float[] gpt2(Backbone cfg, ParameterLayout layout, long seed) {
        float[] params = new float[Math.toIntExact(layout.size())];
        SplittableRandom random = new SplittableRandom(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * cfg.nLayer());
        for (ParameterLayout.View v : layout.views()) {
            int from = (int) v.offset();
            int to = (int) (v.offset() + v.length());
            String name = v.name();
            if (name.endsWith(".bias")) {
                Arrays.fill(params, from, to, 0f);
            } else if (name.startsWith("ln_") || name.contains(".ln_")) {
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
