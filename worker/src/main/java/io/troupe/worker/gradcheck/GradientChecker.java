package io.troupe.worker.gradcheck;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Compares the analytic gradients of a {@link GradientCase}, as ONNX Runtime computes them from
 * the graph the autodiff emitted, with central finite differences of the loss, also computed by
 * ONNX Runtime: {@code n = (L(x + h e_i) - L(x - h e_i)) / (x_i+ - x_i-)}.
 *
 * <p>Each case is tried in its precisions in order (double first): a precision that ONNX Runtime
 * has no kernel for, seen as NOT_IMPLEMENTED when the session is created or first run, is
 * recorded in {@link CaseResult#refused} and the next one is tried. Any other failure is an error
 * of the case, never a reason to fall back.
 *
 * <p>Parameters with more than {@code maxElementsPerParam} elements are checked on a seeded
 * random subset of that many elements; the rest completely. A checker holds no native
 * resources between calls; sessions live for one check.
 */
public final class GradientChecker {
    /** Elements checked per parameter when the parameter is larger. */
    public static final int DEFAULT_ELEMENTS_PER_PARAM = 32;
    /** Seed of the element subsets. */
    public static final long DEFAULT_SEED = 0x6772616463686bL;

    private final int maxElementsPerParam;
    private final long seed;
    private final GradientHook hook;

    /** A checker with {@value #DEFAULT_ELEMENTS_PER_PARAM} elements per parameter and no hook. */
    public GradientChecker() {
        this(DEFAULT_ELEMENTS_PER_PARAM, DEFAULT_SEED, GradientHook.NONE);
    }

    /**
     * @param maxElementsPerParam elements compared per parameter at most (>= 1)
     * @param seed seed of the element subsets
     * @param hook applied to every analytic gradient by cases that build their own gradients
     */
    public GradientChecker(int maxElementsPerParam, long seed, GradientHook hook) {
        if (maxElementsPerParam < 1) {
            throw new IllegalArgumentException("maxElementsPerParam must be >= 1, got " + maxElementsPerParam);
        }
        this.maxElementsPerParam = maxElementsPerParam;
        this.seed = seed;
        this.hook = java.util.Objects.requireNonNull(hook, "hook");
    }

    /** This checker with another gradient hook. */
    public GradientChecker withHook(GradientHook newHook) {
        return new GradientChecker(maxElementsPerParam, seed, newHook);
    }

    /**
     * Checks {@code c} in the first of its precisions that ONNX Runtime runs. Never throws for a
     * problem of the case: a case that cannot be built or run is a failed result with an error.
     */
    public CaseResult check(GradientCase c) {
        Map<DType, String> refused = new LinkedHashMap<>();
        for (DType precision : c.precisions()) {
            try {
                return checkIn(c, precision, refused);
            } catch (PrecisionRefused e) {
                refused.put(precision, e.getMessage());
            } catch (OrtException | RuntimeException e) {
                return CaseResult.failed(c, refused, describe(e));
            }
        }
        return CaseResult.failed(c, refused, "ONNX Runtime refused every precision tried " + c.precisions());
    }

    /**
     * Checks {@code c} in exactly {@code precision}.
     *
     * @throws IllegalStateException when ONNX Runtime has no kernel for the case in that precision
     */
    public CaseResult check(GradientCase c, DType precision) {
        try {
            return checkIn(c, precision, Map.of());
        } catch (PrecisionRefused e) {
            throw new IllegalStateException(c.label() + ": ONNX Runtime refuses " + precision.onnxName() + ": "
                    + e.getMessage(), e);
        } catch (OrtException | RuntimeException e) {
            return CaseResult.failed(c, Map.of(), describe(e));
        }
    }

    private static String describe(Exception e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    private CaseResult checkIn(GradientCase c, DType precision, Map<DType, String> refused)
            throws OrtException, PrecisionRefused {
        CheckableModel model = c.build(precision, hook);
        if (model.precision() != precision) {
            throw new IllegalStateException(c.label() + ": asked for a " + precision.onnxName() + " model, got "
                    + model.precision().onnxName());
        }
        Tolerance tolerance = c.tolerance(precision);
        List<ParamResult> params;
        try (Evaluator evaluator = new Evaluator(model, c.freshSessionPerRun())) {
            params = compare(c, model, tolerance, evaluator);
        }
        return new CaseResult(c.opType(), c.name(), precision, tolerance, params, refused, null);
    }

    private List<ParamResult> compare(GradientCase c, CheckableModel model, Tolerance tolerance, Evaluator evaluator)
            throws OrtException, PrecisionRefused {
        Map<String, double[]> analytic = evaluator.gradients();
        List<ParamResult> out = new ArrayList<>();
        for (CheckableModel.Parameter p : model.parameters()) {
            double[] grad = analytic.get(p.name());
            double[] base = evaluator.values(p.name());
            int[] picked = pick(base.length, c.label() + "/" + p.name());
            double worst = 0;
            long worstIndex = -1;
            double worstA = Double.NaN;
            double worstN = Double.NaN;
            for (int i : picked) {
                double x = base[i];
                double up = evaluator.round(x + tolerance.step());
                double down = evaluator.round(x - tolerance.step());
                double lossUp = evaluator.lossWith(p.name(), i, up);
                double lossDown = evaluator.lossWith(p.name(), i, down);
                double numeric = (lossUp - lossDown) / (up - down);
                double err = tolerance.relativeError(grad[i], numeric);
                if (worstIndex < 0 || !(err <= worst)) {
                    // The first element, a larger error, or NaN (which ends the parameter's check).
                    worst = err;
                    worstIndex = i;
                    worstA = grad[i];
                    worstN = numeric;
                    if (Double.isNaN(err)) {
                        break;
                    }
                }
            }
            out.add(new ParamResult(p.name(), base.length, picked.length, worst, worstIndex, worstA, worstN));
        }
        return out;
    }

    /** All indices when there are at most the limit, else a seeded random subset, ascending. */
    int[] pick(int numel, String key) {
        if (numel <= maxElementsPerParam) {
            int[] all = new int[numel];
            for (int i = 0; i < numel; i++) {
                all[i] = i;
            }
            return all;
        }
        SplittableRandom random = new SplittableRandom(seed ^ (key.hashCode() * 0x9E3779B97F4A7C15L));
        int[] order = new int[numel];
        for (int i = 0; i < numel; i++) {
            order[i] = i;
        }
        for (int i = 0; i < maxElementsPerParam; i++) {
            int j = i + random.nextInt(numel - i);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        int[] picked = Arrays.copyOf(order, maxElementsPerParam);
        Arrays.sort(picked);
        return picked;
    }

    /** ONNX Runtime has no kernel for some op of the model in the requested precision. */
    static final class PrecisionRefused extends io.troupe.errors.TroupeException {
        private static final long serialVersionUID = 1L;

        PrecisionRefused(String message, Throwable cause) {
            super(Kind.CONFIG, message, cause);
        }
    }

    /** True when ORT's error says a kernel is missing, as opposed to a broken model or a failed run. */
    static boolean isMissingKernel(OrtException e) {
        String message = String.valueOf(e.getMessage());
        return e.getCode() == OrtException.OrtErrorCode.ORT_NOT_IMPLEMENTED
                || message.contains("Could not find an implementation for");
    }

    // ---- running the model ---------------------------------------------------------------

    /** Runs one model: its analytic gradients once, then its loss at perturbed parameters. */
    private static final class Evaluator implements AutoCloseable {
        private final OrtEnvironment env = io.troupe.worker.engine.OrtSessions.environment();
        private final CheckableModel model;
        private final boolean freshSessions;
        private final Map<String, double[]> values = new HashMap<>();
        private final Map<String, long[]> shapes = new HashMap<>();
        private final Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        private OrtSession session;

        Evaluator(CheckableModel model, boolean freshSessions) throws OrtException {
            this.model = model;
            this.freshSessions = freshSessions;
            try {
                for (Map.Entry<String, TensorData> feed : model.feeds().entrySet()) {
                    inputs.put(feed.getKey(), tensor(env, feed.getValue()));
                }
                for (CheckableModel.Parameter p : model.parameters()) {
                    double[] v = p.values();
                    for (int i = 0; i < v.length; i++) {
                        v[i] = round(v[i]);
                    }
                    values.put(p.name(), v);
                    shapes.put(p.name(), p.shape());
                    inputs.put(p.name(), floating(p.name(), v));
                }
            } catch (OrtException | RuntimeException e) {
                close();
                throw e;
            }
        }

        /** Rounds to the model's precision. */
        double round(double v) {
            return model.precision() == DType.FLOAT ? (float) v : v;
        }

        /** The parameter's values at the point of the check (rounded to the precision). */
        double[] values(String name) {
            return values.get(name).clone();
        }

        /** Runs the model once and returns the gradient of every parameter. */
        Map<String, double[]> gradients() throws OrtException, PrecisionRefused {
            Map<String, double[]> out = new HashMap<>();
            try {
                OrtSession s = freshSessions ? open() : shared();
                try (OrtSession.Result r = s.run(inputs)) {
                    for (CheckableModel.Parameter p : model.parameters()) {
                        String output = CheckableModel.gradName(p.name());
                        double[] g = read(r, output);
                        if (g.length != values.get(p.name()).length) {
                            throw new IllegalStateException("output '" + output + "' has " + g.length
                                    + " elements, parameter '" + p.name() + "' " + values.get(p.name()).length);
                        }
                        out.put(p.name(), g);
                    }
                    read(r, CheckableModel.LOSS);
                } finally {
                    if (freshSessions) {
                        s.close();
                    }
                }
            } catch (OrtException e) {
                if (isMissingKernel(e)) {
                    throw new PrecisionRefused(e.getMessage(), e);
                }
                throw e;
            }
            return out;
        }

        /** The loss with element {@code index} of {@code param} set to {@code value}. */
        double lossWith(String param, int index, double value) throws OrtException {
            double[] v = values.get(param).clone();
            v[index] = value;
            Map<String, OnnxTensor> feeds = new HashMap<>(inputs);
            try (OnnxTensor perturbed = floating(param, v)) {
                feeds.put(param, perturbed);
                OrtSession s = freshSessions ? open() : shared();
                try (OrtSession.Result r = s.run(feeds, Set.of(CheckableModel.LOSS))) {
                    double[] loss = read(r, CheckableModel.LOSS);
                    if (loss.length != 1) {
                        throw new IllegalStateException("the loss has " + loss.length + " elements, not 1");
                    }
                    return loss[0];
                } finally {
                    if (freshSessions) {
                        s.close();
                    }
                }
            }
        }

        private OrtSession shared() throws OrtException {
            if (session == null) {
                session = open();
            }
            return session;
        }

        private OrtSession open() throws OrtException {
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                // The checked graphs are tiny: one thread avoids pool start-up per session and
                // keeps every reduction in one fixed order.
                options.setIntraOpNumThreads(1);
                options.setInterOpNumThreads(1);
                options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
                return env.createSession(model.model(), options);
            }
        }

        private OnnxTensor floating(String name, double[] v) throws OrtException {
            long[] shape = shapes.get(name);
            if (model.precision() == DType.DOUBLE) {
                DoubleBuffer b = ByteBuffer.allocateDirect(v.length * 8).order(ByteOrder.nativeOrder()).asDoubleBuffer();
                b.put(v).rewind();
                return OnnxTensor.createTensor(env, b, shape);
            }
            FloatBuffer b = ByteBuffer.allocateDirect(v.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (double d : v) {
                b.put((float) d);
            }
            b.rewind();
            return OnnxTensor.createTensor(env, b, shape);
        }

        private static double[] read(OrtSession.Result r, String name) {
            OnnxValue value = r.get(name).orElseThrow(
                    () -> new IllegalStateException("the model has no output '" + name + "'"));
            if (!(value instanceof OnnxTensor t)) {
                throw new IllegalStateException("output '" + name + "' is not a tensor");
            }
            TensorInfo info = t.getInfo();
            if (info.type == OnnxJavaType.DOUBLE) {
                DoubleBuffer b = t.getDoubleBuffer();
                double[] out = new double[b.remaining()];
                b.get(out);
                return out;
            }
            if (info.type == OnnxJavaType.FLOAT) {
                FloatBuffer b = t.getFloatBuffer();
                double[] out = new double[b.remaining()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = b.get(i);
                }
                return out;
            }
            throw new IllegalStateException("output '" + name + "' is " + info.type + ", not float or double");
        }

        /** An ORT tensor holding a copy of {@code data}. */
        private static OnnxTensor tensor(OrtEnvironment env, TensorData data) throws OrtException {
            byte[] raw = data.raw();
            ByteBuffer little = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer direct = ByteBuffer.allocateDirect(raw.length).order(ByteOrder.nativeOrder());
            long[] shape = data.shape();
            switch (data.dtype()) {
                case FLOAT -> {
                    direct.asFloatBuffer().put(little.asFloatBuffer());
                    return OnnxTensor.createTensor(env, direct.asFloatBuffer(), shape);
                }
                case DOUBLE -> {
                    direct.asDoubleBuffer().put(little.asDoubleBuffer());
                    return OnnxTensor.createTensor(env, direct.asDoubleBuffer(), shape);
                }
                case INT64 -> {
                    direct.asLongBuffer().put(little.asLongBuffer());
                    return OnnxTensor.createTensor(env, direct.asLongBuffer(), shape);
                }
                case INT32 -> {
                    direct.asIntBuffer().put(little.asIntBuffer());
                    return OnnxTensor.createTensor(env, direct.asIntBuffer(), shape);
                }
                case BOOL -> {
                    direct.put(raw).rewind();
                    return OnnxTensor.createTensor(env, direct, shape, OnnxJavaType.BOOL);
                }
                default -> throw new IllegalArgumentException("feeds of dtype " + data.dtype().onnxName()
                        + " are not supported");
            }
        }

        @Override
        public void close() throws OrtException {
            for (OnnxTensor t : inputs.values()) {
                t.close();
            }
            inputs.clear();
            if (session != null) {
                session.close();
                session = null;
            }
        }
    }
}
