package io.troupe.model.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Neural-network ops: Gather (embedding), LayerNormalization, Softmax,
 * SoftmaxCrossEntropyLoss, Dropout, plus the index ops their backward rules emit
 * (ScatterND, OneHot).
 */
final class NeuralOps {
    private NeuralOps() {
    }

    static List<OpSpec> all() {
        return List.of(new Gather(), new LayerNormalization(), new Softmax(), new SoftmaxCrossEntropyLoss(),
                new Dropout(), new ScatterND(), new OneHot());
    }

    /** Gather(data, indices, axis): rows of a table; the embedding lookup. */
    static final class Gather implements OpSpec {
        @Override
        public String opType() {
            return "Gather";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            Tensor data = call.input(0);
            Tensor indices = call.input(1);
            if (indices.dtype() != DType.INT64 && indices.dtype() != DType.INT32) {
                throw call.fail("int64 or int32 indices as input 1");
            }
            if (data.rank() < 1) {
                throw call.fail("data of rank >= 1");
            }
            int axis = data.shape().normalizeAxis((int) call.intAttr("axis", 0));
            Shape out = data.shape().slice(0, axis).concat(indices.shape())
                    .concat(data.shape().slice(axis + 1, data.rank()));
            return List.of(new TensorType(data.dtype(), out));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            Tensor data = node.input(0);
            if (data.shape().normalizeAxis((int) node.intAttr("axis", 0)) != 0) {
                throw new GraphException("no gradient rule for " + node + " with axis != 0");
            }
            // Rows picked several times receive the sum of their gradients: ScatterND with
            // reduction="add" accumulates duplicate indices.
            Tensor indices = node.input(1);
            if (indices.dtype() != DType.INT64) {
                indices = indices.cast(DType.INT64);
            }
            Tensor rowIndex = indices.unsqueeze(-1);
            Tensor scattered = ctx.graph().apply("ScatterND", List.of(ctx.zerosLike(data), rowIndex, grads.get(0)),
                    Map.of("reduction", "add"));
            return Arrays.asList(scattered, null);
        }
    }

    /**
     * LayerNormalization over the last axis, with outputs Y, Mean and InvStdDev. The backward
     * rule reuses Mean and InvStdDev.
     */
    static final class LayerNormalization implements OpSpec {
        @Override
        public String opType() {
            return "LayerNormalization";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 3);
            call.requireFloating(0);
            DType dtype = call.requireSameDtype(0, 1, 2);
            Shape x = call.input(0).shape();
            int axis = x.normalizeAxis((int) call.intAttr("axis", -1));
            Shape normalized = x.slice(axis, x.rank());
            for (int i = 1; i <= 2; i++) {
                Tensor t = call.input(i);
                if (t != null && Shape.broadcast(normalized, t.shape()) == null) {
                    throw call.fail("scale and bias that broadcast to the normalized shape " + normalized);
                }
            }
            List<Dim> stat = new ArrayList<>(x.slice(0, axis).dims());
            for (int i = axis; i < x.rank(); i++) {
                stat.add(Dim.of(1));
            }
            // Mean and InvStdDev have the type named by stash_type (default 1 = float), not X's;
            // ORT 1.29 has no kernel for stash_type 11, so a double X gets float statistics.
            long stash = call.intAttr("stash_type", DType.FLOAT.onnxCode());
            DType statDtype = stash == DType.DOUBLE.onnxCode() ? DType.DOUBLE : DType.FLOAT;
            if (stash != DType.FLOAT.onnxCode() && stash != DType.DOUBLE.onnxCode()) {
                throw call.fail("stash_type 1 (float) or 11 (double), not " + stash);
            }
            TensorType statType = new TensorType(statDtype, new Shape(stat));
            return List.of(call.input(0).type(), statType, statType);
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            Tensor x = node.input(0);
            Tensor scale = node.input(1);
            Tensor bias = node.input(2);
            if (x.shape().normalizeAxis((int) node.intAttr("axis", -1)) != x.rank() - 1) {
                throw new GraphException("no gradient rule for " + node + " unless it normalizes the last axis only");
            }
            if (node.outputs().size() < 3) {
                throw new GraphException("no gradient rule for " + node
                        + " without its Mean and InvStdDev outputs; build it with Tensor.layerNorm");
            }
            if (grads.get(1) != null || grads.get(2) != null) {
                throw new GraphException("no gradient rule for " + node + " through its Mean/InvStdDev outputs");
            }
            Tensor mean = node.output(1);
            Tensor invStd = node.output(2);
            if (mean.dtype() != x.dtype()) {
                // A double X with float statistics (stash_type 1): recompute them in double, as
                // casting the float ones would limit the gradient to float accuracy.
                mean = x.reduceMean(true, -1);
                Tensor centered = x.sub(mean);
                invStd = centered.mul(centered).reduceMean(true, -1)
                        .add((float) node.floatAttr("epsilon", 1e-5)).sqrt().reciprocal(); // ONNX stores it as float
            }
            Tensor xhat = x.sub(mean).mul(invStd);
            return layerNormBackward(ctx, xhat, scale, bias, invStd, grads.get(0));
        }

        /**
         * The closed-form LayerNorm gradient over the last axis, shared with the composite
         * LayerNorm ({@link Composites#layerNorm}).
         */
        static List<Tensor> layerNormBackward(GradientContext ctx, Tensor xhat, Tensor scale, Tensor bias,
                                              Tensor invStd, Tensor g) {
            // xhat = (x - mean) * invstd;  dxhat = g * scale
            // dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
            Tensor dxhat = g.mul(scale);
            Tensor meanDxhat = dxhat.reduceMean(true, -1);
            Tensor meanDxhatXhat = dxhat.mul(xhat).reduceMean(true, -1);
            Tensor dx = dxhat.sub(meanDxhat).sub(xhat.mul(meanDxhatXhat)).mul(invStd);
            Tensor dScale = ctx.unbroadcast(g.mul(xhat), scale);
            Tensor dBias = bias == null ? null : ctx.unbroadcast(g, bias);
            return Arrays.asList(dx, dScale, dBias);
        }
    }

    static final class Softmax implements OpSpec {
        @Override
        public String opType() {
            return "Softmax";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 1);
            call.requireFloating(0);
            call.input(0).shape().normalizeAxis((int) call.intAttr("axis", -1));
            return List.of(call.input(0).type());
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            // dx = y * (g - sum(g * y, axis))
            Tensor y = node.output(0);
            Tensor g = grads.get(0);
            long axis = node.intAttr("axis", -1);
            return List.of(y.mul(g.sub(g.mul(y).reduceSum(true, axis))));
        }
    }

    /**
     * SoftmaxCrossEntropyLoss(scores [N, C], labels [N]) with reduction "mean" or "sum" and
     * optional ignore_index; outputs the loss and log_prob [N, C].
     */
    static final class SoftmaxCrossEntropyLoss implements OpSpec {
        @Override
        public String opType() {
            return "SoftmaxCrossEntropyLoss";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(2, 2);
            call.requireFloating(0);
            Tensor scores = call.input(0);
            Tensor labels = call.input(1);
            if (scores.rank() != 2 || labels.rank() != 1 || labels.dtype() != DType.INT64) {
                throw call.fail("scores [N, C] and int64 labels [N]");
            }
            if (!scores.shape().dim(0).compatibleWith(labels.shape().dim(0))) {
                throw call.fail("as many labels as score rows");
            }
            String reduction = call.stringAttr("reduction", "mean");
            Shape lossShape = switch (reduction) {
                case "mean", "sum" -> Shape.scalar();
                case "none" -> labels.shape();
                default -> throw call.fail("reduction \"mean\", \"sum\" or \"none\", not \"" + reduction + "\"");
            };
            return List.of(new TensorType(scores.dtype(), lossShape), scores.type());
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            if (node.outputs().size() < 2) {
                throw new GraphException("no gradient rule for " + node + " without its log_prob output");
            }
            if (grads.get(1) != null) {
                throw new GraphException("no gradient rule for " + node + " through its log_prob output");
            }
            String reduction = node.stringAttr("reduction", "mean");
            if (reduction.equals("none")) {
                throw new GraphException("no gradient rule for " + node + " with reduction \"none\"");
            }
            Graph graph = ctx.graph();
            Tensor scores = node.input(0);
            Tensor labels = node.input(1);
            Tensor logProb = node.output(1);
            Tensor g = grads.get(0);
            Dim classes = scores.shape().dim(1);
            if (!classes.isStatic()) {
                throw new GraphException("no gradient rule for " + node + " with a non-static class count");
            }
            DType dtype = scores.dtype();
            boolean hasIgnore = node.attributes().containsKey("ignore_index");
            Tensor valid = null;
            Tensor safeLabels = labels;
            if (hasIgnore) {
                Tensor ignore = graph.constant(TensorData.ofLongs(new long[] {node.intAttr("ignore_index", -100)}));
                Tensor isValid = graph.apply("Not", List.of(labels.apply("Equal", Map.of(), ignore)), Map.of());
                safeLabels = labels.where(isValid, graph.constant(TensorData.ofLongs(new long[] {0})));
                valid = isValid.cast(dtype);
            }
            Tensor oneHot;                                                              // [N, C]
            if (dtype == DType.FLOAT) {
                Tensor onOff = graph.constant(TensorData.ofFloats(new float[] {0, 1}, 2));
                Tensor depth = graph.constant(TensorData.ofLongs(new long[] {classes.size()}));
                oneHot = graph.apply("OneHot", List.of(safeLabels, depth, onOff), Map.of("axis", -1L));
            } else {
                // ORT 1.29's OneHot has no kernel with double values: Equal(labels, 0..C-1), cast.
                long[] classIds = new long[Math.toIntExact(classes.size())];
                for (int c = 0; c < classIds.length; c++) {
                    classIds[c] = c;
                }
                oneHot = safeLabels.unsqueeze(1)                                         // [N, 1]
                        .apply("Equal", Map.of(), graph.constant(TensorData.ofLongs(classIds, classIds.length)))
                        .cast(dtype);
            }
            // d(loss_i)/d(scores_i) = softmax_i - onehot_i, scaled by the reduction.
            Tensor dScores = logProb.exp().sub(oneHot);
            Tensor perRow = g;
            if (reduction.equals("mean")) {
                Tensor count;
                if (valid != null) {
                    count = valid.reduceSum(false);
                } else if (scores.shape().dim(0).isStatic()) {
                    count = ctx.scalar(scores, scores.shape().dim(0).size());
                } else {
                    count = scores.shapeOf().slice(new long[] {0}, new long[] {1}, new long[] {0})
                            .cast(dtype).reshape(new long[0]);
                }
                perRow = g.div(count);
            }
            if (valid != null) {
                dScores = dScores.mul(valid.unsqueeze(1));
            }
            return Arrays.asList(dScores.mul(perRow), null);
        }
    }

    /** Dropout(data, ratio, training_mode) with outputs output and mask; the seed is an attribute. */
    static final class Dropout implements OpSpec {
        @Override
        public String opType() {
            return "Dropout";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(1, 3);
            call.requireFloating(0);
            TensorType x = call.input(0).type();
            return List.of(x, new TensorType(DType.BOOL, x.shape()));
        }

        @Override
        public List<Tensor> backward(GradientContext ctx, Node node, List<Tensor> grads) {
            if (node.outputs().size() < 2) {
                throw new GraphException("no gradient rule for " + node + " without its mask output");
            }
            Tensor ratioInput = node.input(1);
            double ratio = 0.5;
            if (ratioInput != null) {
                if (ratioInput.constant() == null) {
                    throw new GraphException("no gradient rule for " + node + " with a non-constant ratio");
                }
                ratio = ratioInput.constant().doubles()[0];
            }
            Tensor g = grads.get(0);
            Tensor keep = node.output(1).cast(g.dtype());
            return Arrays.asList(g.mul(keep).mul(1.0 / (1.0 - ratio)), null, null);
        }
    }

    /** ScatterND(data, indices, updates), optionally with reduction="add"; forward only. */
    static final class ScatterND extends NonDifferentiableOp {
        @Override
        public String opType() {
            return "ScatterND";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(3, 3);
            call.requireSameDtype(0, 2);
            if (call.input(1).dtype() != DType.INT64) {
                throw call.fail("int64 indices as input 1");
            }
            return List.of(call.input(0).type());
        }
    }

    /** OneHot(indices, depth, values) along the last axis; forward only. */
    static final class OneHot extends NonDifferentiableOp {
        @Override
        public String opType() {
            return "OneHot";
        }

        @Override
        public List<TensorType> infer(OpCall call) {
            call.requireInputCount(3, 3);
            long[] depth = call.constantLongs(1, "depth");
            if (call.intAttr("axis", -1) != -1) {
                throw call.fail("axis -1");
            }
            Shape out = call.input(0).shape().concat(Shape.of(depth[0]));
            return List.of(new TensorType(call.input(2).dtype(), out));
        }
    }
}
