package io.troupe.model.gpt;

import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Low-rank adaptation (LoRA, Hu et al. 2021) of a GPT's linear layers: each adapted weight W
 * [in, out] gets {@code lora_A [in, r]} and {@code lora_B [r, out]}, and the layer computes
 * {@code x W + b + (alpha / r) * dropout(x) A B}. B starts at zero, so training starts exactly at
 * the source model; only A and B (and a classification head) train, and the export merges
 * {@code W + (alpha / r) A B} back into a plain model.
 *
 * @param rank r, at least 1
 * @param alpha the scale numerator
 * @param targets which linears of every block are adapted
 * @param dropout dropout on the LoRA path's input while training
 */
public record LoraConfig(int rank, double alpha, Set<Target> targets, double dropout) {

    /** Groups of linear layers in a block. */
    public enum Target {
        /** attn.c_attn, the query/key/value projection. */
        ATTN,
        /** attn.c_proj, the attention output projection. */
        PROJ,
        /** mlp.c_fc and mlp.c_proj. */
        MLP;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public LoraConfig {
        if (rank < 1) {
            throw new IllegalArgumentException("--lora-rank must be >= 1, got " + rank
                    + "; drop --lora-rank to fine-tune every parameter instead");
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("--lora-alpha must be a positive number, got " + alpha);
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("--lora-targets names no layer; use attn, proj and/or mlp");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("--lora-dropout must be in [0, 1), got " + dropout);
        }
        targets = Set.copyOf(targets);
    }

    /** Parses {@code --lora-targets} (comma-separated attn, proj, mlp). */
    public static Set<Target> parseTargets(String list) {
        Set<Target> out = EnumSet.noneOf(Target.class);
        for (String part : list.split(",")) {
            String t = part.trim();
            boolean known = false;
            for (Target target : Target.values()) {
                if (target.label().equals(t)) {
                    out.add(target);
                    known = true;
                }
            }
            if (!known) {
                throw new IllegalArgumentException("--lora-targets: unknown layer group '" + t
                        + "'; use attn, proj and/or mlp, comma-separated");
            }
        }
        return out;
    }

    /** alpha / r. */
    public double scale() {
        return alpha / rank;
    }

    /** True for the name of a LoRA matrix. */
    public static boolean isAdapter(String name) {
        return name.endsWith(".lora_A") || name.endsWith(".lora_B");
    }

    /** The prefixes (e.g. {@code h.0.attn.c_attn}) of the adapted linears, block by block. */
    public List<String> adaptedLinears(Backbone cfg) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < cfg.nLayer(); i++) {
            String h = "h." + i + ".";
            if (targets.contains(Target.ATTN)) {
                out.add(h + "attn.c_attn");
            }
            if (targets.contains(Target.PROJ)) {
                out.add(h + "attn.c_proj");
            }
            if (targets.contains(Target.MLP)) {
                out.add(h + "mlp.c_fc");
                out.add(h + "mlp.c_proj");
            }
        }
        return out;
    }

    /** {@code base} followed by A and B for every adapted linear (no weight decay on them). */
    public ParameterLayout extend(ParameterLayout base, Backbone cfg) {
        ParameterLayout.Builder b = new ParameterLayout.Builder();
        for (ParameterLayout.View v : base.views()) {
            b.add(v.name(), v.decay(), v.shape());
        }
        for (String linear : adaptedLinears(cfg)) {
            long[] w = base.view(linear + ".weight").shape();                   // [in, out]
            b.add(linear + ".lora_A", false, w[0], rank);
            b.add(linear + ".lora_B", false, rank, w[1]);
        }
        return b.build();
    }

    /**
     * The extended layout's starting values: {@code baseValues} unchanged, A uniform in
     * +-1/sqrt(in) (PEFT's default range), B zero, so the adapted model equals the base model.
     */
    public float[] initialValues(ParameterLayout extended, float[] baseValues, long seed) {
        float[] out = new float[Math.toIntExact(extended.size())];
        System.arraycopy(baseValues, 0, out, 0, baseValues.length);
        SplittableRandom random = new SplittableRandom(seed ^ 0x4C6F5241L);
        for (ParameterLayout.View v : extended.views()) {
            if (v.name().endsWith(".lora_A")) {
                double bound = 1 / Math.sqrt(v.shape()[0]);
                for (long i = v.offset(); i < v.offset() + v.length(); i++) {
                    out[Math.toIntExact(i)] = (float) ((random.nextDouble() * 2 - 1) * bound);
                }
            }
        }
        return out;
    }

    /**
     * The plain model: the first {@code base.size()} values of {@code values} with every adapted
     * weight replaced by {@code W + (alpha / r) A B}.
     */
    public float[] merge(ParameterLayout extended, float[] values, ParameterLayout base, Backbone cfg) {
        float[] out = java.util.Arrays.copyOf(values, Math.toIntExact(base.size()));
        float scale = (float) scale();
        for (String linear : adaptedLinears(cfg)) {
            ParameterLayout.View w = base.view(linear + ".weight");
            int in = (int) w.shape()[0];
            int outDim = (int) w.shape()[1];
            int a = Math.toIntExact(extended.view(linear + ".lora_A").offset());
            int bOff = Math.toIntExact(extended.view(linear + ".lora_B").offset());
            int wOff = Math.toIntExact(w.offset());
            for (int i = 0; i < in; i++) {
                for (int j = 0; j < outDim; j++) {
                    double sum = 0;
                    for (int k = 0; k < rank; k++) {
                        sum += (double) values[a + i * rank + k] * values[bOff + k * outDim + j];
                    }
                    out[wOff + i * outDim + j] += (float) (scale * sum);
                }
            }
        }
        return out;
    }

    /** The adapter of a graph: adds the LoRA path to each adapted linear whose A and B are in {@code params}. */
    LinearAdapter adapter(Graph graph, Map<String, Tensor> params, double pathDropout, long dropoutSeed) {
        return new LinearAdapter() {
            private int node;

            @Override
            public Tensor adapt(String prefix, Tensor x, Tensor y) {
                Tensor a = params.get(prefix + ".lora_A");
                if (a == null) {
                    return y;
                }
                Tensor in = x;
                if (pathDropout > 0) {
                    // Seeds far from GptForward's (seed + node << 32 for its few dozen nodes).
                    in = x.dropout(pathDropout, dropoutSeed + ((long) (1_000 + node) << 32));
                    node++;
                }
                Tensor delta = in.matMul(a).matMul(params.get(prefix + ".lora_B"));   // [B, T, out]
                return y.add(delta.mul(scale()));
            }
        };
    }

    /** A short description, e.g. "LoRA r=8 alpha=16 on attn,proj". */
    public String describe() {
        return "LoRA r=" + rank + " alpha=" + alpha + " on " + String.join(",",
                targets.stream().sorted().map(Target::label).toList());
    }
}
