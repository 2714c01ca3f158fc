package io.troupe.model.gpt;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each parameter lives in the one flat parameter buffer (llm.c's layout). Gradients
 * and optimizer moments use the same layout, so the all-reduce, the optimizer and
 * checkpoints work on flat ranges.
 */
public final class ParameterLayout {

    /**
     * One named parameter: its offset and length in the flat buffer, its shape, and whether
     * weight decay applies (2-D weights and embeddings, as nanoGPT decides).
     */
    public record View(String name, long offset, long[] shape, boolean decay) {
        public View {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long length() {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape) + "@" + offset;
        }
    }

    private final List<View> views;
    private final Map<String, View> byName;
    private final long size;

    private ParameterLayout(List<View> views) {
        this.views = Collections.unmodifiableList(views);
        Map<String, View> map = new LinkedHashMap<>();
        long end = 0;
        for (View v : views) {
            if (map.put(v.name(), v) != null) {
                throw new IllegalArgumentException("duplicate parameter " + v.name());
            }
            end = v.offset() + v.length();
        }
        this.byName = Collections.unmodifiableMap(map);
        this.size = end;
    }

    /** The GPT-2 parameter set of {@code cfg}, in GPT-2 order and naming. */
    public static ParameterLayout of(GptConfig cfg) {
        Builder b = new Builder();
        long v = cfg.vocabSize();
        long c = cfg.nEmbd();
        b.add("wte", true, v, c);
        b.add("wpe", true, cfg.blockSize(), c);
        for (int i = 0; i < cfg.nLayer(); i++) {
            String p = "h." + i + ".";
            b.add(p + "ln_1.weight", false, c);
            b.addIf(cfg.bias(), p + "ln_1.bias", false, c);
            b.add(p + "attn.c_attn.weight", true, c, 3 * c);
            b.addIf(cfg.bias(), p + "attn.c_attn.bias", false, 3 * c);
            b.add(p + "attn.c_proj.weight", true, c, c);
            b.addIf(cfg.bias(), p + "attn.c_proj.bias", false, c);
            b.add(p + "ln_2.weight", false, c);
            b.addIf(cfg.bias(), p + "ln_2.bias", false, c);
            b.add(p + "mlp.c_fc.weight", true, c, 4 * c);
            b.addIf(cfg.bias(), p + "mlp.c_fc.bias", false, 4 * c);
            b.add(p + "mlp.c_proj.weight", true, 4 * c, c);
            b.addIf(cfg.bias(), p + "mlp.c_proj.bias", false, c);
        }
        b.add("ln_f.weight", false, c);
        b.addIf(cfg.bias(), "ln_f.bias", false, c);
        if (!cfg.tiedEmbeddings()) {
            b.add("lm_head.weight", true, v, c);
        }
        return b.build();
    }

    /** Builds layouts view by view, packing them densely. */
    public static final class Builder {
        private final List<View> views = new ArrayList<>();
        private long offset;

        public Builder add(String name, boolean decay, long... shape) {
            View view = new View(name, offset, shape, decay);
            views.add(view);
            offset += view.length();
            return this;
        }

        Builder addIf(boolean condition, String name, boolean decay, long... shape) {
            return condition ? add(name, decay, shape) : this;
        }

        public ParameterLayout build() {
            return new ParameterLayout(new ArrayList<>(views));
        }
    }

    public List<View> views() {
        return views;
    }

    /** The view called {@code name}; fails with the known names when absent. */
    public View view(String name) {
        View v = byName.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'");
        }
        return v;
    }

    public boolean has(String name) {
        return byName.containsKey(name);
    }

    /** Total number of floats. */
    public long size() {
        return size;
    }

    /** Parameters excluding position embeddings, the count nanoGPT reports. */
    public long sizeWithoutPositions() {
        return has("wpe") ? size - view("wpe").length() : size;
    }
}
