package io.troupe.worker.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.worker.engine.FlatBuffer;
import io.troupe.worker.train.AdamW;
import io.troupe.worker.train.GradientClipper;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import io.troupe.worker.stats.Median;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Decides where the optimizer runs: times one AdamW update (with gradient clipping, and the
 * copies the trainer makes between the engine's direct buffers and the optimizer's arrays) in
 * Java over flat arrays, against the same update as an ONNX graph run by ORT over direct
 * buffers.
 */
public final class OptimizerBenchmark {

    /** Median milliseconds per update of each implementation. */
    public record Result(String config, long parameters, int threads, double javaMillis, double onnxMillis) {
    }

    private OptimizerBenchmark() {
    }

    public static Result run(BenchConfig config, int threads, int warmups, int runs) throws OrtException {
        ParameterLayout layout = ParameterLayout.of(config.model());
        int size = Math.toIntExact(layout.size());
        float[] params = ParameterInit.gpt2(config.model(), layout, 1);
        float[] grads = new float[size];
        SplittableRandom random = new SplittableRandom(2);
        for (int i = 0; i < size; i++) {
            grads[i] = (float) (random.nextGaussian() * 1e-3);
        }
        return new Result(config.label(), size, threads, javaMillis(layout, params.clone(), grads, warmups, runs),
                onnxMillis(layout, params.clone(), grads, threads, warmups, runs));
    }

    private static double javaMillis(ParameterLayout layout, float[] params, float[] grads, int warmups, int runs) {
        List<AdamW.Range> ranges = new ArrayList<>();
        for (ParameterLayout.View v : layout.views()) {
            ranges.add(new AdamW.Range((int) v.offset(), (int) v.length(), v.decay()));
        }
        AdamW adam = new AdamW(params.length, ranges, AdamW.Hyperparameters.nanoGpt());
        GradientClipper clipper = new GradientClipper(1.0);
        FlatBuffer engineGrads = FlatBuffer.allocate(grads.length).copyFrom(grads);
        FlatBuffer engineParams = FlatBuffer.allocate(params.length).copyFrom(params);
        float[] scratch = new float[grads.length];
        double[] millis = new double[runs];
        for (int i = 0; i < warmups + runs; i++) {
            long start = System.nanoTime();
            engineGrads.copyTo(scratch);
            clipper.clip(scratch);
            adam.update(params, scratch, 1e-3);
            engineParams.copyFrom(params);
            if (i >= warmups) {
                millis[i - warmups] = (System.nanoTime() - start) / 1e6;
            }
        }
        return Median.of(millis);
    }

    /** The same update as ONNX ops: 2 moment updates, bias correction, decoupled decay. */
    static Graph adamGraph(int size, float[] decayMask) {
        Graph g = new Graph("adamw");
        Shape flat = Shape.of(size);
        Tensor p = g.input("p", DType.FLOAT, flat);
        Tensor grad = g.input("g", DType.FLOAT, flat);
        Tensor m = g.input("m", DType.FLOAT, flat);
        Tensor v = g.input("v", DType.FLOAT, flat);
        Tensor lr = g.input("lr", DType.FLOAT, Shape.scalar());
        Tensor stepSize = g.input("step_size", DType.FLOAT, Shape.scalar());    // lr / (1 - beta1^t)
        Tensor vCorrection = g.input("v_correction", DType.FLOAT, Shape.scalar()); // 1 / sqrt(1 - beta2^t)
        Tensor mask = g.initializer("decay_mask", TensorData.ofFloats(decayMask, size));
        // Global-norm clipping: scale = min(1, max_norm / (norm + 1e-6)).
        Tensor norm = grad.mul(grad).reduceSum(false).sqrt();
        Tensor scale = g.apply("Min", List.of(g.scalar(DType.FLOAT, 1.0), norm.add(1e-6).reciprocal()), Map.of());
        Tensor clipped = grad.mul(scale);
        Tensor m2 = m.mul(0.9).add(clipped.mul(0.1));
        Tensor v2 = v.mul(0.95).add(clipped.mul(clipped).mul(0.05));
        Tensor decayed = p.sub(p.mul(mask).mul(lr).mul(0.1));
        Tensor update = m2.mul(stepSize).div(v2.sqrt().mul(vCorrection).add(1e-8));
        g.output("p_out", decayed.sub(update));
        g.output("m_out", m2);
        g.output("v_out", v2);
        return g;
    }

    private static double onnxMillis(ParameterLayout layout, float[] params, float[] grads, int threads, int warmups,
                                     int runs) throws OrtException {
        int size = params.length;
        float[] mask = new float[size];
        for (ParameterLayout.View v : layout.views()) {
            if (v.decay()) {
                Arrays.fill(mask, (int) v.offset(), (int) (v.offset() + v.length()), 1f);
            }
        }
        OrtEnvironment env = io.troupe.worker.engine.OrtSessions.environment();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        Map<String, OnnxValue> outputs = new HashMap<>();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(adamGraph(size, mask).toBytes(), options)) {
                long[] shape = {size};
                inputs.put("p", OnnxTensor.createTensor(env, direct(params), shape));
                inputs.put("g", OnnxTensor.createTensor(env, direct(grads), shape));
                inputs.put("m", OnnxTensor.createTensor(env, direct(new float[size]), shape));
                inputs.put("v", OnnxTensor.createTensor(env, direct(new float[size]), shape));
                inputs.put("lr", OnnxTensor.createTensor(env, 1e-3f));
                inputs.put("step_size", OnnxTensor.createTensor(env, 1e-2f));
                inputs.put("v_correction", OnnxTensor.createTensor(env, 4.5f));
                for (String out : List.of("p_out", "m_out", "v_out")) {
                    outputs.put(out, OnnxTensor.createTensor(env, direct(new float[size]), shape));
                }
                double[] millis = new double[runs];
                for (int i = 0; i < warmups + runs; i++) {
                    long start = System.nanoTime();
                    session.run(inputs, outputs).close();
                    if (i >= warmups) {
                        millis[i - warmups] = (System.nanoTime() - start) / 1e6;
                    }
                }
                return Median.of(millis);
            } finally {
                inputs.values().forEach(OnnxTensor::close);
                outputs.values().forEach(OnnxValue::close);
            }
        }
    }

    private static FloatBuffer direct(float[] values) {
        return FlatBuffer.allocate(values.length).copyFrom(values).floats();
    }
}
