package io.troupe.model.gpt;

import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.List;

/**
 * Activation checkpointing of the attention core: the backward pass recomputes the attention
 * weights instead of keeping them from the forward pass.
 *
 * <p>Why: without it, every layer keeps two float [B, NH, T, T] tensors for the backward pass
 * (the softmax output, which the softmax gradient reads, and the dropout output, which the
 * gradient of {@code att @ v} reads); at the {@code shakespeare-char} shape that is 100 MiB per
 * layer and lane. With it, the forward keeps only q, k^T, v (which the backward of
 * {@code q @ k^T} and {@code att @ v} reads anyway) and the bool dropout mask (a quarter of a
 * float tensor), and the backward recomputes {@code softmax(q @ k^T + bias)} once, for about
 * 4% more arithmetic per step at that shape.
 *
 * <p>Two details make ORT do the recomputation where it saves memory:
 * <ul>
 *   <li>The recomputed scores start from {@code q + 0 * g[0,0,0,0]}, where g is the gradient
 *       arriving at the attention output. That makes the recomputation depend on the backward
 *       pass, so ORT cannot run it during the forward pass, and it is not the same expression as
 *       the forward's {@code q @ k^T}, so ORT's common-subexpression elimination cannot merge the
 *       two back into one kept tensor. Adding a zero changes no finite value (at most the sign
 *       of a zero, which no product or softmax below can see); a non-finite gradient makes the
 *       result non-finite, as it would be anyway.</li>
 *   <li>The backward emits exactly the ops the primitives' own rules emit (MatMul, Dropout,
 *       Softmax), in the same order. Without dropout the recomputed weights equal the forward's
 *       bit for bit, and so do the gradients (tested). With dropout the weights are recomputed
 *       as softmax * mask * scale by Mul nodes, which differ from ORT's Dropout kernel output in
 *       the last bit of some elements; the gradients then agree to float rounding (about 3e-7
 *       relative, tested), the loss and the masks exactly.</li>
 * </ul>
 */
final class RecomputedAttention {
    private RecomputedAttention() {
    }

    /**
     * Declares the custom backward of {@code weighted = dropout(softmax(q @ kT + bias)) @ v}.
     *
     * @param q [B, NH, T, HS] scaled queries
     * @param kT [B, NH, HS, S] keys, transposed
     * @param v [B, NH, S, HS] values
     * @param bias additive bias broadcastable to [B, NH, T, S], or null
     * @param att the forward's attention weights after dropout ([B, NH, T, S]); only its dropout
     *            mask (if any) is kept for the backward pass
     * @param dropout the attention dropout probability (0: none)
     * @param weighted [B, NH, T, HS] the forward's {@code att @ v}
     */
    static void declare(Tensor q, Tensor kT, Tensor v, Tensor bias, Tensor att, double dropout, Tensor weighted) {
        Graph graph = weighted.graph();
        Tensor mask = dropout == 0 ? null : att.producer().output(1);   // [B, NH, T, S] bool
        graph.customGradient(weighted, List.of(q, kT, v), (ctx, g) -> {
            // g: [B, NH, T, HS]. One element of it, times zero, ties the recomputation to the backward pass.
            Tensor anchor = g.slice(new long[] {0, 0, 0, 0}, new long[] {1, 1, 1, 1}, new long[] {0, 1, 2, 3})
                    .mul(0.0);                                          // [1, 1, 1, 1]
            Tensor scores = q.add(anchor).matMul(kT);                   // [B, NH, T, S]
            Tensor masked = bias == null ? scores : scores.add(bias);   // [B, NH, T, S]
            Tensor probabilities = masked.softmax(-1);                  // [B, NH, T, S]
            Tensor keep = mask == null ? null : mask.cast(g.dtype());   // [B, NH, T, S]
            double scale = 1.0 / (1.0 - dropout);
            Tensor weights = keep == null ? probabilities : probabilities.mul(keep).mul(scale);
            // The rules of MatMul (att @ v), Dropout, Softmax and MatMul (q @ kT), in that order;
            // Dropout's rule scales by the double 1 / (1 - ratio), so this does too.
            Tensor gWeights = g.matMul(v.transposeLast2());            // [B, NH, T, S]
            Tensor gV = weights.transposeLast2().matMul(g);             // [B, NH, S, HS]
            Tensor gProbabilities = keep == null ? gWeights : gWeights.mul(keep).mul(scale);
            Tensor gScores = probabilities.mul(gProbabilities.sub(
                    gProbabilities.mul(probabilities).reduceSum(true, -1))); // [B, NH, T, S]
            Tensor gQ = gScores.matMul(kT.transposeLast2());           // [B, NH, T, HS]
            Tensor gKT = q.transposeLast2().matMul(gScores);           // [B, NH, HS, S]
            return List.of(gQ, gKT, gV);
        });
    }
}
