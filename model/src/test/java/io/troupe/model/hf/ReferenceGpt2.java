package io.troupe.model.hf;

/**
 * GPT-2's forward pass in plain loops over its own tensor names, in double precision: the
 * independent reference an import is checked against. It shares nothing with Troupe's graph
 * code; it follows the transformers GPT-2 (Conv1D: {@code y = x @ W + b} with W [in, out];
 * c_attn's output is q | k | v, each cut into heads of HS consecutive columns; scores scaled by
 * 1/sqrt(HS) and masked causally; GELU with the tanh approximation; LayerNorm with biased
 * variance and eps 1e-5; logits = ln_f(x) @ wte^T).
 */
final class ReferenceGpt2 {
    private final RandomGpt2 m;

    ReferenceGpt2(RandomGpt2 model) {
        this.m = model;
    }

    /** Logits [T][V] for one sequence of token ids. */
    double[][] logits(long[] ids) {
        int t = ids.length;
        int c = m.nEmbd;
        double[][] x = new double[t][c];
        float[] wte = m.get("wte.weight");
        float[] wpe = m.get("wpe.weight");
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < c; j++) {
                x[i][j] = wte[(int) ids[i] * c + j] + wpe[i * c + j];
            }
        }
        for (int l = 0; l < m.nLayer; l++) {
            String h = "h." + l + ".";
            double[][] a = attention(layerNorm(x, h + "ln_1"), h + "attn.");
            add(x, a);
            double[][] hidden = conv1d(layerNorm(x, h + "ln_2"), h + "mlp.c_fc", 4 * c);
            for (double[] row : hidden) {
                for (int j = 0; j < row.length; j++) {
                    double v = row[j];
                    row[j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                }
            }
            add(x, conv1d(hidden, h + "mlp.c_proj", c));
        }
        double[][] xf = layerNorm(x, "ln_f");
        double[][] logits = new double[t][m.vocab];
        for (int i = 0; i < t; i++) {
            for (int v = 0; v < m.vocab; v++) {
                double sum = 0;
                for (int j = 0; j < c; j++) {
                    sum += xf[i][j] * wte[v * c + j];
                }
                logits[i][v] = sum;
            }
        }
        return logits;
    }

    private double[][] attention(double[][] x, String prefix) {
        int t = x.length;
        int c = m.nEmbd;
        int hs = c / m.nHead;
        double[][] qkv = conv1d(x, prefix + "c_attn", 3 * c);
        double[][] y = new double[t][c];
        for (int head = 0; head < m.nHead; head++) {
            int q0 = head * hs;
            int k0 = c + head * hs;
            int v0 = 2 * c + head * hs;
            for (int i = 0; i < t; i++) {
                double[] scores = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int d = 0; d < hs; d++) {
                        dot += qkv[i][q0 + d] * qkv[j][k0 + d];
                    }
                    scores[j] = dot / Math.sqrt(hs);
                    max = Math.max(max, scores[j]);
                }
                double total = 0;
                for (int j = 0; j <= i; j++) {
                    scores[j] = Math.exp(scores[j] - max);
                    total += scores[j];
                }
                for (int j = 0; j <= i; j++) {
                    for (int d = 0; d < hs; d++) {
                        y[i][q0 + d] += scores[j] / total * qkv[j][v0 + d];
                    }
                }
            }
        }
        return conv1d(y, prefix + "c_proj", c);
    }

    /** y = x @ W + b, W stored [in, out] row-major. */
    private double[][] conv1d(double[][] x, String prefix, int out) {
        float[] w = m.get(prefix + ".weight");
        float[] b = m.get(prefix + ".bias");
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < out; o++) {
                double sum = b[o];
                for (int i = 0; i < in; i++) {
                    sum += x[r][i] * w[i * out + o];
                }
                y[r][o] = sum;
            }
        }
        return y;
    }

    private double[][] layerNorm(double[][] x, String prefix) {
        float[] w = m.get(prefix + ".weight");
        float[] b = m.get(prefix + ".bias");
        double[][] y = new double[x.length][];
        for (int r = 0; r < x.length; r++) {
            double mean = 0;
            for (double v : x[r]) {
                mean += v;
            }
            mean /= x[r].length;
            double var = 0;
            for (double v : x[r]) {
                var += (v - mean) * (v - mean);
            }
            var /= x[r].length;
            y[r] = new double[x[r].length];
            for (int j = 0; j < x[r].length; j++) {
                y[r][j] = (x[r][j] - mean) / Math.sqrt(var + 1e-5) * w[j] + b[j];
            }
        }
        return y;
    }

    private static void add(double[][] x, double[][] delta) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += delta[i][j];
            }
        }
    }
}
