package io.troupe.worker.gradcheck;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Graph;
import io.troupe.model.graph.Shape;
import io.troupe.model.graph.Tensor;
import io.troupe.model.graph.TensorData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What an {@link OpCase} body builds with: the graph, the precision under test, and seeded
 * helpers for parameters, constants and the probe loss.
 *
 * <p>All random values come from one generator seeded by the case, drawn in the order the body
 * asks for them, and never depend on the precision: the double and the float32 build of a case
 * see the same numbers (up to float rounding).
 */
public final class CaseContext {
    private final Graph graph;
    private final DType dtype;
    private final SplittableRandom random;
    private final List<CheckableModel.Parameter> parameters = new ArrayList<>();
    private final List<Tensor> parameterTensors = new ArrayList<>();

    CaseContext(Graph graph, DType dtype, long seed) {
        this.graph = graph;
        this.dtype = dtype;
        this.random = new SplittableRandom(seed);
    }

    public Graph graph() {
        return graph;
    }

    /** The precision under test: the dtype of parameters and constants. */
    public DType dtype() {
        return dtype;
    }

    List<CheckableModel.Parameter> parameters() {
        return Collections.unmodifiableList(parameters);
    }

    List<Tensor> parameterTensors() {
        return Collections.unmodifiableList(parameterTensors);
    }

    // ---- parameters ----------------------------------------------------------------------

    /** A checked parameter with standard normal values. */
    public Tensor param(String name, long... shape) {
        return param(name, normal(numel(shape)), shape);
    }

    /** A checked parameter with the given values. */
    public Tensor param(String name, double[] values, long... shape) {
        Tensor t = graph.input(name, dtype, Shape.of(shape));
        parameters.add(new CheckableModel.Parameter(name, shape, values));
        parameterTensors.add(t);
        return t;
    }

    // ---- constants -----------------------------------------------------------------------

    /** A constant of the precision under test. */
    public Tensor constant(double[] values, long... shape) {
        return graph.constant(data(dtype, values, shape));
    }

    /** A constant of standard normal values. */
    public Tensor randomConstant(long... shape) {
        return constant(normal(numel(shape)), shape);
    }

    /** An int64 constant. */
    public Tensor longs(long[] values, long... shape) {
        return graph.constant(TensorData.ofLongs(values, shape));
    }

    /** A bool constant. */
    public Tensor bools(boolean[] values, long... shape) {
        return graph.constant(TensorData.ofBools(values, shape));
    }

    /** {@code n} random booleans, each true with probability 1/2. */
    public boolean[] randomBools(int n) {
        boolean[] out = new boolean[n];
        for (int i = 0; i < n; i++) {
            out[i] = random.nextBoolean();
        }
        return out;
    }

    /** {@code n} random integers in [0, bound). */
    public long[] randomIndices(int n, long bound) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = random.nextLong(bound);
        }
        return out;
    }

    // ---- values --------------------------------------------------------------------------

    /** {@code n} standard normal values. */
    public double[] normal(int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = gaussian();
        }
        return out;
    }

    /** {@code n} values uniform in [lo, hi). */
    public double[] uniform(int n, double lo, double hi) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = random.nextDouble(lo, hi);
        }
        return out;
    }

    /**
     * {@code n} values of random sign with magnitude uniform in [min, max): inputs kept away from
     * a pole or kink at zero by {@code min}, which must exceed the finite-difference step.
     */
    public double[] awayFromZero(int n, double min, double max) {
        double[] out = uniform(n, min, max);
        for (int i = 0; i < n; i++) {
            if (random.nextBoolean()) {
                out[i] = -out[i];
            }
        }
        return out;
    }

    private double gaussian() {
        // SplittableRandom is a RandomGenerator (Java 17): its nextGaussian is the JDK's ziggurat.
        return random.nextGaussian();
    }

    // ---- the probe loss ------------------------------------------------------------------

    /**
     * The scalar loss {@code sum(y * R)} with R a fixed random constant of y's shape, so that
     * every output element reaches the loss with a different weight and the op's backward rule
     * sees a non-trivial output gradient (a plain sum would feed it all ones).
     *
     * <p>When the case runs in float32, y is first cast to double and the product and the sum are
     * done in double. The op itself still computes, and its rule still runs, in float32; only the
     * probe's accumulation is exact, so the finite differences see the op's own rounding instead of
     * that of a float32 sum over all outputs. (Cast's own rule is checked by a case of its own.)
     */
    public Tensor probe(Tensor y) {
        if ((y.dtype() != DType.FLOAT && y.dtype() != DType.DOUBLE) || !y.shape().isStatic()) {
            throw new IllegalArgumentException("probe() needs a float or double output of static shape, got " + y);
        }
        Tensor v = y.dtype() == DType.FLOAT ? y.cast(DType.DOUBLE) : y;
        long[] shape = v.shape().sizes();
        Tensor weights = graph.constant(data(DType.DOUBLE, normal(numel(shape)), shape));
        Tensor weighted = v.mul(weights);
        return shape.length == 0 ? weighted : weighted.reduceSum(false);
    }

    /** The sum of the probes of several outputs, each with its own weights. */
    public Tensor probe(Tensor first, Tensor... more) {
        Tensor loss = probe(first);
        for (Tensor t : more) {
            loss = loss.add(probe(t));
        }
        return loss;
    }

    // ---- helpers -------------------------------------------------------------------------

    static int numel(long... shape) {
        return Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact));
    }

    static TensorData data(DType dtype, double[] values, long... shape) {
        return switch (dtype) {
            case DOUBLE -> TensorData.ofDoubles(values, shape);
            case FLOAT -> {
                float[] f = new float[values.length];
                for (int i = 0; i < f.length; i++) {
                    f[i] = (float) values[i];
                }
                yield TensorData.ofFloats(f, shape);
            }
            default -> throw new IllegalArgumentException("no " + dtype.onnxName() + " values from doubles");
        };
    }
}
