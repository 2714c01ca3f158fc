package io.troupe.worker.train;

import io.troupe.model.gpt.ParameterLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Discriminative learning rates: the factor each parameter's learning rate is multiplied by,
 * from its name. The <em>body</em> is the embeddings ({@code wte}, {@code wpe}) and the blocks
 * ({@code h.N.*}, LoRA adapters {@code h.N.*.lora_A/B} included); everything else is the
 * <em>head</em> (a classifier's {@code cls.*}, the final {@code ln_f}, an untied
 * {@code lm_head}), which keeps the schedule's rate. Block {@code i} of {@code L} learns at
 * {@code body * decay^(L-1-i)}, the embeddings at {@code body * decay^L}: the top block at the
 * body's rate and every block below it {@code decay} times slower (layer-wise decay, as in
 * ULMFiT and ELECTRA). With tied embeddings {@code wte} is also the language-model head; it
 * counts as body (it is the model's input first).
 *
 * @param body {@code lr_body_scale}, >= 0
 * @param layerDecay {@code lr_layer_decay}, in [0, 1]
 * @param layers the model's {@code n_layer}
 */
public record LearningRateScales(double body, double layerDecay, int layers) {
    private static final Pattern BLOCK = Pattern.compile("^h\\.(\\d+)\\.");

    public LearningRateScales {
        if (!(body >= 0 && Double.isFinite(body))) {
            throw new IllegalArgumentException("lr_body_scale must be >= 0, got " + body);
        }
        if (!(layerDecay >= 0 && layerDecay <= 1)) {
            throw new IllegalArgumentException("lr_layer_decay must be in [0, 1], got " + layerDecay);
        }
    }

    /** The scales a run's settings ask for. */
    public static LearningRateScales of(TrainSettings settings) {
        return new LearningRateScales(settings.lrBodyScale(), settings.lrLayerDecay(), settings.nLayer());
    }

    /** True when every parameter learns at the schedule's rate. */
    public boolean uniform() {
        return body == 1 && layerDecay == 1;
    }

    /** The factor of the parameter called {@code name}. */
    public double scale(String name) {
        Matcher block = BLOCK.matcher(name);
        if (block.find()) {
            int i = Integer.parseInt(block.group(1));
            return body * Math.pow(layerDecay, Math.max(0, layers - 1 - i));
        }
        if (name.equals("wte") || name.equals("wpe") || name.startsWith("wte.") || name.startsWith("wpe.")) {
            return body * Math.pow(layerDecay, layers);
        }
        return 1.0;
    }

    /** AdamW's ranges over {@code layout}: one per parameter, with its decay flag and this factor. */
    public List<AdamW.Range> ranges(ParameterLayout layout) {
        List<AdamW.Range> ranges = new ArrayList<>();
        for (ParameterLayout.View v : layout.views()) {
            ranges.add(new AdamW.Range(Math.toIntExact(v.offset()), Math.toIntExact(v.length()), v.decay(),
                    scale(v.name())));
        }
        return ranges;
    }
}
