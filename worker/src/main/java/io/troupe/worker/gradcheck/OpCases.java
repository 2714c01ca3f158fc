package io.troupe.worker.gradcheck;

import io.troupe.model.graph.Composites;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * The gradient cases of every differentiable op the graph builder knows: at least one per op,
 * more where the backward rule has branches (broadcasting in either direction, transposes,
 * keepdims, unused outputs, duplicate indices, ignored labels).
 *
 * <p>Each case's loss is {@link CaseContext#probe}: {@code sum(op(params) * R)} with R random.
 * Inputs are kept where the op is smooth on the scale of the float32 step (1e-2): divisors,
 * logarithm and square-root arguments at least 0.5 from zero, Relu inputs at least 0.1 from its
 * kink.
 */
public final class OpCases {
    /** The report key of the composite LayerNorm's custom gradient, which is not an ONNX op. */
    public static final String COMPOSITE_LAYER_NORM = "Composites.layerNorm";

    private OpCases() {
    }

    /** Every op case, grouped by op type. */
    public static List<OpCase> all() {
        List<OpCase> cases = new ArrayList<>();
        matMul(cases);
        gemm(cases);
        arithmetic(cases);
        unary(cases);
        shapes(cases);
        reductions(cases);
        neural(cases);
        return List.copyOf(cases);
    }

    /** The cases of one op type. */
    public static List<OpCase> of(String opType) {
        return all().stream().filter(c -> c.opType().equals(opType)).toList();
    }

    // ---- matrix products -----------------------------------------------------------------

    private static void matMul(List<OpCase> cases) {
        cases.add(OpCase.of("MatMul", "[B,T,C] x [C,N] weight", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 4);          // [B, T, C]
            Tensor w = ctx.param("w", 4, 5);             // [C, N]
            return ctx.probe(x.matMul(w));               // [B, T, N]
        }));
        cases.add(OpCase.of("MatMul", "[M,K] x [K,N]", ctx -> {
            Tensor a = ctx.param("a", 3, 4);
            Tensor b = ctx.param("b", 4, 5);
            return ctx.probe(a.matMul(b));
        }));
        cases.add(OpCase.of("MatMul", "batched [B,M,K] x [B,K,N]", ctx -> {
            Tensor a = ctx.param("a", 2, 3, 4);
            Tensor b = ctx.param("b", 2, 4, 5);
            return ctx.probe(a.matMul(b));
        }));
        cases.add(OpCase.of("MatMul", "broadcast batch [2,1,M,K] x [3,K,N]", ctx -> {
            Tensor a = ctx.param("a", 2, 1, 3, 4);
            Tensor b = ctx.param("b", 3, 4, 5);
            return ctx.probe(a.matMul(b));               // [2, 3, 3, 5]
        }));
        cases.add(OpCase.of("MatMul", "[M,K] x batched [B,K,N]", ctx -> {
            Tensor a = ctx.param("a", 3, 4);
            Tensor b = ctx.param("b", 2, 4, 5);
            return ctx.probe(a.matMul(b));               // [2, 3, 5]
        }));
        cases.add(OpCase.of("MatMul", "attention scores q k^T [B,NH,T,HS]", ctx -> {
            Tensor q = ctx.param("q", 2, 2, 4, 3);       // [B, NH, T, HS]
            Tensor k = ctx.param("k", 2, 2, 4, 3);
            return ctx.probe(q.matMul(k.transposeLast2()));  // [B, NH, T, T]
        }));
    }

    private static void gemm(List<OpCase> cases) {
        // A is [M, K] (or [K, M] with transA), B is [K, N] (or [N, K] with transB); M=3, K=4, N=5.
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                String name = "transA=" + (ta ? 1 : 0) + " transB=" + (tb ? 1 : 0) + ", C [N], alpha 0.7, beta 1.3";
                cases.add(OpCase.of("Gemm", name, ctx -> {
                    Tensor a = ta ? ctx.param("a", 4, 3) : ctx.param("a", 3, 4);
                    Tensor b = tb ? ctx.param("b", 5, 4) : ctx.param("b", 4, 5);
                    Tensor c = ctx.param("c", 5);
                    return ctx.probe(a.gemm(b, c, ta, tb, 0.7, 1.3));
                }));
            }
        }
        cases.add(OpCase.of("Gemm", "C [M,1]", ctx -> {
            Tensor a = ctx.param("a", 3, 4);
            Tensor b = ctx.param("b", 4, 5);
            Tensor c = ctx.param("c", 3, 1);
            return ctx.probe(a.gemm(b, c, false, false, 1.0, 1.0));
        }));
        cases.add(OpCase.of("Gemm", "C [M,N], transB=1", ctx -> {
            Tensor a = ctx.param("a", 3, 4);
            Tensor b = ctx.param("b", 5, 4);
            Tensor c = ctx.param("c", 3, 5);
            return ctx.probe(a.gemm(b, c, false, true, 1.0, 0.5));
        }));
        cases.add(OpCase.of("Gemm", "no C, transA=1 transB=1, alpha 2", ctx -> {
            Tensor a = ctx.param("a", 4, 3);
            Tensor b = ctx.param("b", 5, 4);
            return ctx.probe(a.gemm(b, null, true, true, 2.0, 1.0));
        }));
    }

    // ---- elementwise ---------------------------------------------------------------------

    private static void arithmetic(List<OpCase> cases) {
        binary(cases, "Add", Tensor::add, false);
        binary(cases, "Sub", Tensor::sub, false);
        binary(cases, "Mul", Tensor::mul, false);
        binary(cases, "Div", Tensor::div, true);
        cases.add(OpCase.of("Mul", "x * x (one input twice)", ctx -> {
            Tensor x = ctx.param("x", 3, 4);
            return ctx.probe(x.mul(x));
        }));
        cases.add(OpCase.of("Div", "x / x^2 (one input on both sides)", ctx -> {
            Tensor x = ctx.param("x", ctx.awayFromZero(12, 0.5, 2), 3, 4);
            return ctx.probe(x.div(x.mul(x)));
        }));
        for (double p : new double[] {2, 3, 0.5, -1.5}) {
            boolean positive = p != Math.rint(p);
            cases.add(OpCase.of("Pow", "x^" + p + (positive ? ", x in [0.5, 2)" : ""), ctx -> {
                double[] v = positive ? ctx.uniform(12, 0.5, 2) : ctx.normal(12);
                Tensor x = ctx.param("x", v, 3, 4);
                return ctx.probe(x.pow(p));
            }));
        }
        cases.add(OpCase.of("Sum", "three inputs [2,3] + [3] + [2,1]", ctx -> {
            Tensor a = ctx.param("a", 2, 3);
            Tensor b = ctx.param("b", 3);
            Tensor c = ctx.param("c", 2, 1);
            return ctx.probe(ctx.graph().apply("Sum", List.of(a, b, c), Map.of()));
        }));
        cases.add(OpCase.of("Sum", "two inputs, one twice", ctx -> {
            Tensor a = ctx.param("a", 2, 3);
            Tensor b = ctx.param("b", 2, 3);
            return ctx.probe(ctx.graph().apply("Sum", List.of(a, b, a), Map.of()));
        }));
    }

    /** A binary op on four shape pairs: equal, right broadcast, left broadcast, both broadcast. */
    private static void binary(List<OpCase> cases, String op, BiFunction<Tensor, Tensor, Tensor> f,
                               boolean divisorAwayFromZero) {
        long[][][] shapes = {
            {{2, 3, 4}, {2, 3, 4}},
            {{2, 3, 4}, {4}},
            {{3, 1}, {2, 3, 4}},
            {{3, 1}, {1, 4}},
            {{2, 3}, {}},
        };
        String[] names = {"equal shapes", "b broadcast [2,3,4] . [4]", "a broadcast [3,1] . [2,3,4]",
            "both broadcast [3,1] . [1,4]", "scalar b [2,3] . []"};
        for (int i = 0; i < shapes.length; i++) {
            long[] sa = shapes[i][0];
            long[] sb = shapes[i][1];
            cases.add(OpCase.of(op, names[i], ctx -> {
                Tensor a = ctx.param("a", sa);
                Tensor b = divisorAwayFromZero
                        ? ctx.param("b", ctx.awayFromZero(CaseContext.numel(sb), 0.5, 2), sb)
                        : ctx.param("b", sb);
                return ctx.probe(f.apply(a, b));
            }));
        }
    }

    private static void unary(List<OpCase> cases) {
        unaryCase(cases, "Neg", "normal", Tensor::neg, Values.NORMAL);
        unaryCase(cases, "Sqrt", "x in [0.5, 3)", Tensor::sqrt, Values.POSITIVE);
        unaryCase(cases, "Tanh", "x ~ 1.5 N(0,1)", Tensor::tanh, Values.WIDE);
        unaryCase(cases, "Erf", "x ~ 1.5 N(0,1)", Tensor::erf, Values.WIDE);
        unaryCase(cases, "Exp", "normal", Tensor::exp, Values.NORMAL);
        unaryCase(cases, "Log", "x in [0.5, 3)", Tensor::log, Values.POSITIVE);
        unaryCase(cases, "Reciprocal", "|x| in [0.5, 2)", Tensor::reciprocal, Values.AWAY_FROM_ZERO);
        unaryCase(cases, "Relu", "|x| in [0.1, 2)", t -> t.apply("Relu", Map.of()), Values.OFF_KINK);
        unaryCase(cases, "Sigmoid", "x ~ 1.5 N(0,1)", t -> t.apply("Sigmoid", Map.of()), Values.WIDE);
        unaryCase(cases, "Identity", "normal", t -> t.apply("Identity", Map.of()), Values.NORMAL);
        unaryCase(cases, "Gelu", "approximate=tanh", t -> t.gelu("tanh"), Values.WIDE);
        // ORT's double Gelu "tanh" is ~5e-9 off the exact formula the rule differentiates, more
        // than the default floor's 1e-9 allows on a small element (see Tolerance.GELU_TANH).
        cases.set(cases.size() - 1, cases.get(cases.size() - 1).withDoubleTolerance(Tolerance.GELU_TANH));
        unaryCase(cases, "Gelu", "approximate=none", t -> t.gelu("none"), Values.WIDE);
        // Cast's rule casts the gradient back. Only the float32 -> double direction is checked:
        // it is exact, while a double -> float32 cast would quantize the double perturbation.
        cases.add(OpCase.of("Cast", "float -> double", ctx -> {
            Tensor x = ctx.param("x", 3, 4);
            return ctx.probe(x.cast(DType.DOUBLE).tanh());
        }).onlyIn(DType.FLOAT));
        cases.add(OpCase.of("Where", "cond [2,3,4], x [3,1], y [4]", ctx -> {
            Tensor cond = ctx.bools(ctx.randomBools(24), 2, 3, 4);
            Tensor x = ctx.param("x", 3, 1);
            Tensor y = ctx.param("y", 4);
            return ctx.probe(x.where(cond, y));
        }));
        cases.add(OpCase.of("Where", "cond [4] broadcast, x [2,3,4], y []", ctx -> {
            Tensor cond = ctx.bools(new boolean[] {true, false, false, true}, 4);
            Tensor x = ctx.param("x", 2, 3, 4);
            Tensor y = ctx.param("y");
            return ctx.probe(x.where(cond, y));
        }));
    }

    /** How the input of a unary case is drawn. */
    private enum Values {
        NORMAL, WIDE, POSITIVE, AWAY_FROM_ZERO, OFF_KINK;

        double[] draw(CaseContext ctx, int n) {
            return switch (this) {
                case NORMAL -> ctx.normal(n);
                case WIDE -> scale(ctx.normal(n), 1.5);
                case POSITIVE -> ctx.uniform(n, 0.5, 3);
                case AWAY_FROM_ZERO -> ctx.awayFromZero(n, 0.5, 2);
                case OFF_KINK -> ctx.awayFromZero(n, 0.1, 2);
            };
        }

        private static double[] scale(double[] v, double s) {
            for (int i = 0; i < v.length; i++) {
                v[i] *= s;
            }
            return v;
        }
    }

    private static void unaryCase(List<OpCase> cases, String op, String name, UnaryOperator<Tensor> f, Values values) {
        cases.add(OpCase.of(op, name, ctx -> {
            Tensor x = ctx.param("x", values.draw(ctx, 24), 2, 3, 4);
            return ctx.probe(f.apply(x));
        }));
    }

    // ---- data movement -------------------------------------------------------------------

    private static void shapes(List<OpCase> cases) {
        cases.add(OpCase.of("Reshape", "[2,3,4] -> [0,-1]", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 4);
            return ctx.probe(x.reshape(0, -1).tanh());
        }));
        cases.add(OpCase.of("Reshape", "[6,4] -> [2,3,2,2]", ctx -> {
            Tensor x = ctx.param("x", 6, 4);
            return ctx.probe(x.reshape(2, 3, 2, 2));
        }));
        cases.add(OpCase.of("Transpose", "perm [2,0,1]", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 4);
            return ctx.probe(x.transpose(2, 0, 1));
        }));
        cases.add(OpCase.of("Transpose", "default perm (reverse)", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 4);
            return ctx.probe(x.apply("Transpose", Map.of()));
        }));
        cases.add(OpCase.of("Transpose", "heads [B,T,NH,HS] -> [B,NH,T,HS]", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 2, 4);
            return ctx.probe(x.transpose(0, 2, 1, 3));
        }));
        cases.add(OpCase.of("Slice", "two axes, negative start, end past the edge", ctx -> {
            Tensor x = ctx.param("x", 4, 6);
            return ctx.probe(x.slice(new long[] {1, -4}, new long[] {3, 100}, new long[] {0, 1}));
        }));
        cases.add(OpCase.of("Slice", "last axis only, axes [-1]", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 6);
            return ctx.probe(x.slice(new long[] {2}, new long[] {5}, new long[] {-1}));
        }));
        cases.add(OpCase.of("Split", "[2,6] axis 1 into [1,2,3], all used", ctx -> {
            Tensor x = ctx.param("x", 2, 6);
            List<Tensor> parts = x.split(1, 1, 2, 3);
            return ctx.probe(parts.get(0), parts.get(1).tanh(), parts.get(2));
        }));
        cases.add(OpCase.of("Split", "[6,2] axis 0 into [2,2,2], middle output unused", ctx -> {
            Tensor x = ctx.param("x", 6, 2);
            List<Tensor> parts = x.split(0, 2, 2, 2);
            return ctx.probe(parts.get(0), parts.get(2));
        }));
        cases.add(OpCase.of("Split", "q, k, v of c_attn [B,T,3C] axis 2", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 12);
            List<Tensor> qkv = x.split(2, 4, 4, 4);
            return ctx.probe(qkv.get(0).mul(qkv.get(1)), qkv.get(2));
        }));
        cases.add(OpCase.of("Concat", "axis 1: x [2,3], y [2,1], x again", ctx -> {
            Tensor x = ctx.param("x", 2, 3);
            Tensor y = ctx.param("y", 2, 1);
            return ctx.probe(ctx.graph().concat(1, List.of(x, y, x)));
        }));
        cases.add(OpCase.of("Concat", "axis -3 of [1,2,3] and [2,2,3]", ctx -> {
            Tensor x = ctx.param("x", 1, 2, 3);
            Tensor y = ctx.param("y", 2, 2, 3);
            return ctx.probe(ctx.graph().concat(-3, List.of(x, y)));
        }));
        cases.add(OpCase.of("Squeeze", "[2,1,3,1] axes [1,-1]", ctx -> {
            Tensor x = ctx.param("x", 2, 1, 3, 1);
            return ctx.probe(x.squeeze(1, -1));
        }));
        cases.add(OpCase.of("Unsqueeze", "[2,3] axes [0,-1]", ctx -> {
            Tensor x = ctx.param("x", 2, 3);
            return ctx.probe(x.unsqueeze(0, -1));
        }));
        cases.add(OpCase.of("Expand", "[3,1] -> [2,3,4]", ctx -> {
            Tensor x = ctx.param("x", 3, 1);
            return ctx.probe(x.expand(ctx.graph().longs(2, 3, 4)));
        }));
        cases.add(OpCase.of("Expand", "[4] -> [3,1] gives [3,4]", ctx -> {
            Tensor x = ctx.param("x", 4);
            return ctx.probe(x.expand(ctx.graph().longs(3, 1)));
        }));
    }

    // ---- reductions ----------------------------------------------------------------------

    private static void reductions(List<OpCase> cases) {
        for (String op : new String[] {"ReduceSum", "ReduceMean"}) {
            boolean mean = op.equals("ReduceMean");
            cases.add(OpCase.of(op, "axes [1], keepdims 0", ctx -> {
                Tensor x = ctx.param("x", 2, 3, 4);
                return ctx.probe(reduce(x, mean, false, 1));
            }));
            cases.add(OpCase.of(op, "axes [0,2], keepdims 1", ctx -> {
                Tensor x = ctx.param("x", 2, 3, 4);
                return ctx.probe(reduce(x, mean, true, 0, 2));
            }));
            cases.add(OpCase.of(op, "axes [-1], keepdims 1", ctx -> {
                Tensor x = ctx.param("x", 2, 3, 4);
                return ctx.probe(reduce(x, mean, true, -1));
            }));
            cases.add(OpCase.of(op, "all axes, keepdims 0", ctx -> {
                Tensor x = ctx.param("x", 2, 3, 4);
                return ctx.probe(reduce(x.tanh(), mean, false));
            }));
        }
    }

    private static Tensor reduce(Tensor x, boolean mean, boolean keepDims, long... axes) {
        return mean ? x.reduceMean(keepDims, axes) : x.reduceSum(keepDims, axes);
    }

    // ---- neural-network ops --------------------------------------------------------------

    private static void neural(List<OpCase> cases) {
        cases.add(OpCase.of("Gather", "embedding [V,C] with duplicate indices [B,T]", ctx -> {
            Tensor wte = ctx.param("wte", 5, 3);        // [V, C]
            Tensor idx = ctx.longs(new long[] {0, 2, 2, 4, 0, 2}, 2, 3);   // [B, T]
            return ctx.probe(wte.gather(idx));           // [B, T, C]
        }));
        cases.add(OpCase.of("Gather", "int32 indices, a row never picked", ctx -> {
            Tensor table = ctx.param("table", 4, 2);
            Tensor idx = ctx.graph().constant(io.troupe.model.graph.TensorData.ofLongs(new long[] {3, 1, 3}, 3))
                    .cast(DType.INT32);
            return ctx.probe(table.gather(idx));
        }));
        cases.add(OpCase.of("LayerNormalization", "[B,T,C] with scale and bias", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 8);
            Tensor scale = ctx.param("scale", 8);
            Tensor bias = ctx.param("bias", 8);
            return ctx.probe(x.layerNorm(scale, bias, 1e-5));
        }));
        cases.add(OpCase.of("LayerNormalization", "no bias, x with offset", ctx -> {
            double[] v = ctx.normal(20);
            for (int i = 0; i < v.length; i++) {
                v[i] = 2 + 0.5 * v[i];
            }
            Tensor x = ctx.param("x", v, 4, 5);
            Tensor scale = ctx.param("scale", 5);
            return ctx.probe(x.layerNorm(scale, null, 1e-5));
        }));
        // Not an ONNX op: the GPT's LayerNorm, primitives with a hand-written custom gradient.
        cases.add(OpCase.of(COMPOSITE_LAYER_NORM, "[B,T,C] with scale and bias", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 8);
            Tensor scale = ctx.param("scale", 8);
            Tensor bias = ctx.param("bias", 8);
            return ctx.probe(Composites.layerNorm(x, scale, bias, 1e-5));
        }));
        cases.add(OpCase.of(COMPOSITE_LAYER_NORM, "no bias, x with offset, result reused", ctx -> {
            double[] v = ctx.normal(20);
            for (int i = 0; i < v.length; i++) {
                v[i] = 2 + 0.5 * v[i];
            }
            Tensor x = ctx.param("x", v, 4, 5);
            Tensor scale = ctx.param("scale", 5);
            Tensor y = Composites.layerNorm(x, scale, null, 1e-5);
            return ctx.probe(y.mul(x));
        }));
        cases.add(OpCase.of("Softmax", "axis -1", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 5);
            return ctx.probe(x.softmax(-1));
        }));
        cases.add(OpCase.of("Softmax", "axis 1 of [2,3,5]", ctx -> {
            Tensor x = ctx.param("x", 2, 3, 5);
            return ctx.probe(x.softmax(1));
        }));
        cases.add(OpCase.of("SoftmaxCrossEntropyLoss", "mean over [N,C] = [6,5]", ctx -> {
            Tensor scores = ctx.param("scores", 6, 5);
            Tensor labels = ctx.longs(ctx.randomIndices(6, 5), 6);
            return ctx.probe(scores.softmaxCrossEntropy(labels));
        }));
        cases.add(OpCase.of("SoftmaxCrossEntropyLoss", "mean with ignore_index -1 on 2 of 6 rows", ctx -> {
            Tensor scores = ctx.param("scores", 6, 5);
            Tensor labels = ctx.longs(new long[] {1, -1, 4, 0, -1, 4}, 6);
            return ctx.probe(sce(ctx.graph(), scores, labels, Map.of("reduction", "mean", "ignore_index", -1L)));
        }));
        cases.add(OpCase.of("SoftmaxCrossEntropyLoss", "sum", ctx -> {
            Tensor scores = ctx.param("scores", 6, 5);
            Tensor labels = ctx.longs(ctx.randomIndices(6, 5), 6);
            return ctx.probe(sce(ctx.graph(), scores, labels, Map.of("reduction", "sum")));
        }));
        cases.add(OpCase.of("Dropout", "training mode, ratio 0.3, seed 7", ctx -> {
            Tensor x = ctx.param("x", 4, 8);
            return ctx.probe(x.dropout(0.3, 7));
        }).withFreshSessions());
    }

    private static Tensor sce(Graph graph, Tensor scores, Tensor labels, Map<String, Object> attributes) {
        return graph.applyMulti("SoftmaxCrossEntropyLoss", List.of(scores, labels), attributes, 2).get(0);
    }
}
