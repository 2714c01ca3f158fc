package io.troupe.worker.run;

import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterLayout;

/**
 * A GPT-2 forward pass in plain loops and double precision, written from the model's
 * specification rather than from the graph code, to check the exported graph against.
 *
 * <p>The specification: logits = LN_f(x_L) @ head^T, where x_0 = wte[token] + wpe[position] and
 * each block is pre-LayerNorm, x += attn(LN_1(x)); x += mlp(LN_2(x)). LayerNorm uses the biased
 * variance and epsilon 1e-5 inside the square root. Attention splits x @ W_qkv into q, k, v
 * (in that order, each C wide), heads are contiguous slices of HS = C / NH columns, scores are
 * q.k / sqrt(HS), position i attends to positions 0..i only. The MLP is GELU with GPT-2's tanh
 * approximation between a C -> 4C and a 4C -> C linear. Linear weights are stored [in, out]; the
 * head is wte ([V, C]) when embeddings are tied, else lm_head.weight ([V, C]).
 */
final class ReferenceGpt {
    static final double LAYER_NORM_EPSILON = 1e-5;

    private final GptConfig cfg;
    private final ParameterLayout layout;
    private final float[] params;

    ReferenceGpt(GptConfig cfg, float[] params) {
        this.cfg = cfg;
        this.layout = ParameterLayout.of(cfg);
        this.params = params;
    }

    /** Logits [T][V] of one token sequence of length T <= block_size. */
    double[][] logits(long[] tokens) {
        int t = tokens.length;
        int c = cfg.nEmbd();
        double[][] x = new double[t][c];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < c; j++) {
                x[i][j] = w("wte", (int) tokens[i], j) + w("wpe", i, j);
            }
        }
        for (int l = 0; l < cfg.nLayer(); l++) {
            String h = "h." + l + ".";
            double[][] a = attention(layerNorm(x, h + "ln_1"), h + "attn.");
            addInPlace(x, a);
            double[][] m = mlp(layerNorm(x, h + "ln_2"), h + "mlp.");
            addInPlace(x, m);
        }
        double[][] xf = layerNorm(x, "ln_f");
        String head = cfg.tiedEmbeddings() ? "wte" : "lm_head.weight";
        double[][] out = new double[t][cfg.vocabSize()];
        for (int i = 0; i < t; i++) {
            for (int v = 0; v < cfg.vocabSize(); v++) {
                double s = 0;
                for (int j = 0; j < c; j++) {
                    s += xf[i][j] * w(head, v, j);
                }
                out[i][v] = s;
            }
        }
        return out;
    }

    private double[][] attention(double[][] x, String prefix) {
        int t = x.length;
        int c = cfg.nEmbd();
        int hs = c / cfg.nHead();
        double[][] qkv = linear(x, prefix + "c_attn");          // [T, 3C]
        double[][] y = new double[t][c];
        for (int head = 0; head < cfg.nHead(); head++) {
            int q0 = head * hs;
            int k0 = c + head * hs;
            int v0 = 2 * c + head * hs;
            for (int i = 0; i < t; i++) {
                double[] p = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double s = 0;
                    for (int d = 0; d < hs; d++) {
                        s += qkv[i][q0 + d] * qkv[j][k0 + d];
                    }
                    p[j] = s / Math.sqrt(hs);
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int j = 0; j <= i; j++) {
                    for (int d = 0; d < hs; d++) {
                        y[i][q0 + d] += p[j] / sum * qkv[j][v0 + d];
                    }
                }
            }
        }
        return linear(y, prefix + "c_proj");
    }

    private double[][] mlp(double[][] x, String prefix) {
        double[][] hidden = linear(x, prefix + "c_fc");
        for (double[] row : hidden) {
            for (int j = 0; j < row.length; j++) {
                double u = row[j];
                row[j] = 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)));
            }
        }
        return linear(hidden, prefix + "c_proj");
    }

    /** x @ W + b with W stored [in, out]. */
    private double[][] linear(double[][] x, String prefix) {
        long[] shape = layout.view(prefix + ".weight").shape();
        int in = (int) shape[0];
        int out = (int) shape[1];
        boolean bias = layout.has(prefix + ".bias");
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias ? w(prefix + ".bias", o) : 0;
                for (int k = 0; k < in; k++) {
                    s += x[i][k] * w(prefix + ".weight", k, o);
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private double[][] layerNorm(double[][] x, String prefix) {
        int c = cfg.nEmbd();
        boolean bias = layout.has(prefix + ".bias");
        double[][] y = new double[x.length][c];
        for (int i = 0; i < x.length; i++) {
            double mean = 0;
            for (double v : x[i]) {
                mean += v;
            }
            mean /= c;
            double var = 0;
            for (double v : x[i]) {
                var += (v - mean) * (v - mean);
            }
            var /= c;
            double inv = 1 / Math.sqrt(var + LAYER_NORM_EPSILON);
            for (int j = 0; j < c; j++) {
                y[i][j] = (x[i][j] - mean) * inv * w(prefix + ".weight", j) + (bias ? w(prefix + ".bias", j) : 0);
            }
        }
        return y;
    }

    private static void addInPlace(double[][] x, double[][] d) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += d[i][j];
            }
        }
    }

    /** Element [i] of a 1-D parameter. */
    private double w(String name, int i) {
        return params[(int) layout.view(name).offset() + i];
    }

    /** Element [r][col] of a 2-D parameter, row-major. */
    private double w(String name, int r, int col) {
        ParameterLayout.View v = layout.view(name);
        return params[(int) (v.offset() + r * v.shape()[1] + col)];
    }
}
