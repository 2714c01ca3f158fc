package io.troupe.ops.explain;

import java.util.List;

/**
 * Attention rollout (Abnar and Zuidema, "Quantifying Attention Flow in Transformers", 2020): each
 * layer's attention averaged over heads, with the residual stream as half of it (0.5 A + 0.5 I,
 * rows renormalised), multiplied from the first layer to the last. Row q of the product says how
 * much of position q's final state flows from each input position.
 */
final class AttentionRollout {
    private AttentionRollout() {
    }

    /**
     * @param layers each layer's weights of one row, [NH * T * T], first layer first
     * @param query how much each position's row counts (the positions the score reads), [T]
     * @return the flow from each input position into the queried rows, [T]
     */
    static double[] rollout(List<float[]> layers, int heads, int t, double[] query) {
        double[][] flow = identity(t);                       // [T, T]
        for (float[] attention : layers) {
            double[][] mixed = new double[t][t];             // 0.5 * mean_h A_h + 0.5 * I
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < t; j++) {
                        mixed[i][j] += 0.5 * attention[(h * t + i) * t + j] / heads;
                    }
                }
            }
            for (int i = 0; i < t; i++) {
                mixed[i][i] += 0.5;
                double sum = 0;
                for (int j = 0; j < t; j++) {
                    sum += mixed[i][j];
                }
                for (int j = 0; j < t; j++) {
                    mixed[i][j] /= sum;
                }
            }
            flow = multiply(mixed, flow);                    // this layer after the ones below
        }
        double[] out = new double[t];
        for (int q = 0; q < t; q++) {
            if (query[q] != 0) {
                for (int j = 0; j < t; j++) {
                    out[j] += query[q] * flow[q][j];
                }
            }
        }
        return out;
    }

    private static double[][] identity(int t) {
        double[][] m = new double[t][t];
        for (int i = 0; i < t; i++) {
            m[i][i] = 1;
        }
        return m;
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        int t = a.length;
        double[][] c = new double[t][t];
        for (int i = 0; i < t; i++) {
            for (int k = 0; k < t; k++) {
                double aik = a[i][k];
                if (aik != 0) {
                    for (int j = 0; j < t; j++) {
                        c[i][j] += aik * b[k][j];
                    }
                }
            }
        }
        return c;
    }
}
