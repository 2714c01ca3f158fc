package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Elementwise ops with numpy broadcasting: arithmetic, unary math, activations, Where, comparisons. */
final class ElementwiseOps {
    private ElementwiseOps() {
    }

    static List<OpSpec> all() {
        List<OpSpec> ops = new ArrayList<>(List.of(new Add(), new Sub(), new Mul(), new Div(), new Pow(), new Sum(),
                new Identity(), new Cast(), new Gelu(), new Where(),
                new BinaryNoGradient("Equal", true), new BinaryNoGradient("Less", true),
                new BinaryNoGradient("Greater", true), new Not(),
                new BinaryNoGradient("Min", false), new BinaryNoGradient("Max", false)));
        ops.addAll(unaryOps());
        return ops;
    }

    static Shape broadcastOrFail(OpCall call, List<Tensor> operands) {
        Shape out = operands.get(0).shape();
        for (int i = 1; i < operands.size(); i++) {
            out = Shape.broadcast(out, operands.get(i).shape());
            if (out == null) {
                throw call.fail("shapes that broadcast together");
            }
        }
        return out;
    }

    /** Base of two-input arithmetic ops of one dtype. */
    abstract static class Binary implements OpSpec {
        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            DType dtype = call.requireSameDtype(0, 1);
            return List.of(new TensorType(dtype, broadcastOrFail(call, call.inputs())));
        }
    }

    /** Base of one-input float ops whose output has the input's type. */
    abstract static class UnaryFloat implements OpSpec {
        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 1);
            call.requireFloating(0);
            return List.of(call.input(0).type());
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            return List.of(localGradient(ctx, node.input(0), node.output(0), grads.get(0)));
        }

        /** d(loss)/dx given x, y = f(x) and g = d(loss)/dy. */
        abstract Tensor localGradient(GradientContext ctx, Tensor x, Tensor y, Tensor g);
    }

    static final class Add extends Binary {
        @Override
        public String opType() {
            return "Add";
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            Tensor g = grads.get(0);
            return List.of(ctx.unbroadcast(g, node.input(0)), ctx.unbroadcast(g, node.input(1)));
        }
    }

    static final class Sub extends Binary {
        @Override
        public String opType() {
            return "Sub";
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            Tensor g = grads.get(0);
            return List.of(ctx.unbroadcast(g, node.input(0)), ctx.unbroadcast(g.neg(), node.input(1)));
        }
    }

    static final class Mul extends Binary {
        @Override
        public String opType() {
            return "Mul";
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            Tensor g = grads.get(0);
            Tensor a = node.input(0);
            Tensor b = node.input(1);
            return List.of(ctx.unbroadcast(g.mul(b), a), ctx.unbroadcast(g.mul(a), b));
        }
    }

    static final class Div extends Binary {
        @Override
        public String opType() {
            return "Div";
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            // y = a / b:  da = g / b,  db = -g * y / b
            Tensor g = grads.get(0);
            Tensor a = node.input(0);
            Tensor b = node.input(1);
            Tensor gOverB = g.div(b);
            return List.of(ctx.unbroadcast(gOverB, a), ctx.unbroadcast(gOverB.mul(node.output(0)).neg(), b));
        }
    }

    /** Pow; differentiable in the base only, by a constant scalar exponent. */
    static final class Pow extends Binary {
        @Override
        public String opType() {
            return "Pow";
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            Tensor exponent = node.input(1);
            if (exponent.constant() == null || exponent.constant().doubles().length != 1) {
                throw new GraphException("no gradient rule for " + node + " with a non-constant exponent "
                        + exponent + "; only powers by a constant scalar are differentiable");
            }
            double p = exponent.constant().doubles()[0];
            Tensor x = node.input(0);
            Tensor local = p == 2 ? x.mul(2.0) : x.pow(p - 1).mul(p);
            return Arrays.asList(ctx.unbroadcast(grads.get(0).mul(local), x), null);
        }
    }

    /** Variadic sum (the autodiff uses it to add gradient contributions). */
    static final class Sum implements OpSpec {
        @Override
        public String opType() {
            return "Sum";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            if (call.inputs().isEmpty()) {
                throw call.fail("at least one input");
            }
            int[] all = new int[call.inputs().size()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            DType dtype = call.requireSameDtype(all);
            return List.of(new TensorType(dtype, broadcastOrFail(call, call.inputs())));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            List<Tensor> out = new ArrayList<>();
            for (Tensor in : node.inputs()) {
                out.add(ctx.unbroadcast(grads.get(0), in));
            }
            return out;
        }
    }

    /** The backward rule of a one-input op: d(loss)/dx from x, y = f(x) and g = d(loss)/dy. */
    @FunctionalInterface
    interface UnaryRule {
        Tensor gradient(GradientContext ctx, Tensor x, Tensor y, Tensor g);
    }

    /** A one-input float op whose backward rule is a small expression in x, y and g. */
    static final class Unary extends UnaryFloat {
        private final String opType;
        private final UnaryRule rule;

        Unary(String opType, UnaryRule rule) {
            this.opType = opType;
            this.rule = rule;
        }

        @Override
        public String opType() {
            return opType;
        }

        @Override
        Tensor localGradient(GradientContext ctx, Tensor x, Tensor y, Tensor g) {
            return rule.gradient(ctx, x, y, g);
        }
    }

    /** Unary ops and their rules, forward (the ONNX op) beside backward (the expression). */
    static List<OpSpec> unaryOps() {
        return List.of(
                new Unary("Neg", (ctx, x, y, g) -> g.neg()),
                new Unary("Sqrt", (ctx, x, y, g) -> g.div(y).mul(0.5)),
                new Unary("Tanh", (ctx, x, y, g) -> {
                    // d tanh = 1 - tanh^2
                    return g.sub(g.mul(y).mul(y));
                }),
                new Unary("Erf", (ctx, x, y, g) -> {
                    // d erf(x) = 2/sqrt(pi) * exp(-x^2)
                    return g.mul(x.mul(x).neg().exp().mul(2.0 / Math.sqrt(Math.PI)));
                }),
                new Unary("Exp", (ctx, x, y, g) -> g.mul(y)),
                new Unary("Log", (ctx, x, y, g) -> g.div(x)),
                new Unary("Reciprocal", (ctx, x, y, g) -> g.mul(y).mul(y).neg()),
                new Unary("Relu", (ctx, x, y, g) -> {
                    Tensor positive = x.apply("Greater", Map.of(), ctx.scalar(x, 0));
                    return g.where(positive, ctx.scalar(g, 0));
                }),
                new Unary("Sigmoid", (ctx, x, y, g) -> g.mul(y).mul(ctx.scalar(y, 1).sub(y))));
    }

    static final class Identity implements OpSpec {
        @Override
        public String opType() {
            return "Identity";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 1);
            return List.of(call.input(0).type());
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            return List.of(grads.get(0));
        }
    }

    /** Cast; differentiable between floating types (the gradient is cast back). */
    static final class Cast implements OpSpec {
        @Override
        public String opType() {
            return "Cast";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 1);
            long to = call.intAttr("to", -1);
            for (DType d : DType.values()) {
                if (d.onnxCode() == to) {
                    return List.of(new TensorType(d, call.input(0).shape()));
                }
            }
            throw call.fail("attribute 'to' naming a supported dtype, not " + to);
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            if (!node.output(0).dtype().isFloating()) {
                throw new GraphException("no gradient through " + node + ": it casts to a non-floating type");
            }
            return List.of(grads.get(0).cast(node.input(0).dtype()));
        }
    }

    /** GELU (opset 20): exact (erf) or the tanh approximation GPT-2 uses. */
    static final class Gelu extends UnaryFloat {
        private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
        private static final double CUBIC = 0.044715;

        @Override
        public String opType() {
            return "Gelu";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            String approximate = call.stringAttr("approximate", "none");
            if (!approximate.equals("none") && !approximate.equals("tanh")) {
                throw call.fail("approximate = \"none\" or \"tanh\", not \"" + approximate + "\"");
            }
            return super.infer(call);
        }

        @Override
        Tensor localGradient(GradientContext ctx, Tensor x, Tensor y, Tensor g) {
            Node node = y.producer();
            Tensor x2 = x.mul(x);
            Tensor local;
            if (node.stringAttr("approximate", "none").equals("tanh")) {
                // y = 0.5 x (1 + t), t = tanh(s (x + c x^3))
                // dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) s (1 + 3 c x^2)
                Tensor t = x.add(x2.mul(x).mul(CUBIC)).mul(SQRT_2_OVER_PI).tanh();
                Tensor dInner = x2.mul(3 * CUBIC * SQRT_2_OVER_PI).add(SQRT_2_OVER_PI);
                Tensor sech2 = ctx.scalar(t, 1).sub(t.mul(t));
                local = t.add(1.0).mul(0.5).add(x.mul(0.5).mul(sech2).mul(dInner));
            } else {
                // y = 0.5 x (1 + erf(x / sqrt 2));  dy/dx = 0.5 (1 + erf(x/sqrt2)) + x exp(-x^2/2) / sqrt(2 pi)
                Tensor cdf = x.mul(1 / Math.sqrt(2)).erf().add(1.0).mul(0.5);
                Tensor pdf = x2.mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
                local = cdf.add(x.mul(pdf));
            }
            return g.mul(local);
        }
    }

    /** Where(condition, x, y): picks x where condition holds, else y. */
    static final class Where implements OpSpec {
        @Override
        public String opType() {
            return "Where";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(3, 3);
            if (call.input(0).dtype() != DType.BOOL) {
                throw call.fail("a bool condition as input 0");
            }
            DType dtype = call.requireSameDtype(1, 2);
            return List.of(new TensorType(dtype, broadcastOrFail(call, call.inputs())));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            Tensor g = grads.get(0);
            Tensor cond = node.input(0);
            Tensor zero = ctx.scalar(g, 0);
            return Arrays.asList(null,
                    ctx.unbroadcast(g.where(cond, zero), node.input(1)),
                    ctx.unbroadcast(zero.where(cond, g), node.input(2)));
        }
    }

    /**
     * Two-input ops without a gradient: comparisons (Equal / Less / Greater, bool results) and
     * Min / Max (used in forward-only graphs such as the optimizer's).
     */
    static final class BinaryNoGradient extends NonDifferentiableOp {
        private final String opType;
        private final boolean boolResult;

        BinaryNoGradient(String opType, boolean boolResult) {
            this.opType = opType;
            this.boolResult = boolResult;
        }

        @Override
        public String opType() {
            return opType;
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            DType dtype = call.requireSameDtype(0, 1);
            return List.of(new TensorType(boolResult ? DType.BOOL : dtype, broadcastOrFail(call, call.inputs())));
        }
    }

    static final class Not extends NonDifferentiableOp {
        @Override
        public String opType() {
            return "Not";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 1);
            if (call.input(0).dtype() != DType.BOOL) {
                throw call.fail("a bool input");
            }
            return List.of(call.input(0).type());
        }
    }
}
