package io.troupe.model.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A constant tensor value: dtype, static shape and little-endian bytes, as ONNX stores it in
 * {@code TensorProto.raw_data}. Used for initializers and small constants.
 */
public final class TensorData {
    private final DType dtype;
    private final long[] shape;
    private final byte[] raw;

    private TensorData(DType dtype, long[] shape, byte[] raw) {
        long numel = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (numel * dtype.byteSize() != raw.length) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " and dtype "
                    + dtype.onnxName() + " needs " + numel * dtype.byteSize() + " bytes, got " + raw.length);
        }
        this.dtype = dtype;
        this.shape = shape.clone();
        this.raw = raw;
    }

    private static ByteBuffer allocate(long elements, DType dtype) {
        return ByteBuffer.allocate(Math.toIntExact(elements * dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    }

    public static TensorData ofFloats(float[] values, long... shape) {
        ByteBuffer b = allocate(values.length, DType.FLOAT);
        b.asFloatBuffer().put(values);
        return new TensorData(DType.FLOAT, shape, b.array());
    }

    /** Copies {@code count} floats from {@code values} starting at its position. */
    public static TensorData ofFloats(FloatBuffer values, long... shape) {
        long numel = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        ByteBuffer b = allocate(numel, DType.FLOAT);
        FloatBuffer src = values.duplicate();
        src.limit(Math.toIntExact(src.position() + numel));
        b.asFloatBuffer().put(src);
        return new TensorData(DType.FLOAT, shape, b.array());
    }

    public static TensorData ofDoubles(double[] values, long... shape) {
        ByteBuffer b = allocate(values.length, DType.DOUBLE);
        b.asDoubleBuffer().put(values);
        return new TensorData(DType.DOUBLE, shape, b.array());
    }

    public static TensorData ofLongs(long[] values, long... shape) {
        ByteBuffer b = allocate(values.length, DType.INT64);
        b.asLongBuffer().put(values);
        return new TensorData(DType.INT64, shape, b.array());
    }

    public static TensorData ofBools(boolean[] values, long... shape) {
        byte[] raw = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            raw[i] = (byte) (values[i] ? 1 : 0);
        }
        return new TensorData(DType.BOOL, shape, raw);
    }

    /** A scalar of a floating dtype holding {@code value}. */
    public static TensorData scalar(DType dtype, double value) {
        return switch (dtype) {
            case FLOAT -> ofFloats(new float[] {(float) value});
            case DOUBLE -> ofDoubles(new double[] {value});
            case INT64 -> ofLongs(new long[] {(long) value});
            case FLOAT16 -> ofHalfs(new short[] {Half.fromFloat((float) value)});
            default -> throw new IllegalArgumentException("no scalar constants of dtype " + dtype.onnxName());
        };
    }

    /** float16 values given as their bits ({@link Half#fromFloat}). */
    public static TensorData ofHalfs(short[] bits, long... shape) {
        ByteBuffer b = allocate(bits.length, DType.FLOAT16);
        b.asShortBuffer().put(bits);
        return new TensorData(DType.FLOAT16, shape, b.array());
    }

    /** A 1-D int64 vector. */
    public static TensorData vector(long... values) {
        return ofLongs(values, values.length);
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** The little-endian bytes; not copied, do not modify. */
    public byte[] raw() {
        return raw;
    }

    /** The values as longs when the dtype is int64 (used for constant folding of shapes). */
    public long[] longs() {
        if (dtype != DType.INT64) {
            throw new IllegalStateException("tensor is " + dtype.onnxName() + ", not int64");
        }
        long[] out = new long[raw.length / 8];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
        return out;
    }

    /** The values as doubles when the dtype is float, double, float16 or int64. */
    public double[] doubles() {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        return switch (dtype) {
            case FLOAT -> {
                float[] f = new float[raw.length / 4];
                b.asFloatBuffer().get(f);
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    d[i] = f[i];
                }
                yield d;
            }
            case DOUBLE -> {
                double[] d = new double[raw.length / 8];
                b.asDoubleBuffer().get(d);
                yield d;
            }
            case FLOAT16 -> {
                short[] h = new short[raw.length / 2];
                b.asShortBuffer().get(h);
                double[] d = new double[h.length];
                for (int i = 0; i < h.length; i++) {
                    d[i] = Half.toFloat(h[i]);
                }
                yield d;
            }
            case INT64 -> Arrays.stream(longs()).asDoubleStream().toArray();
            default -> throw new IllegalStateException("tensor is " + dtype.onnxName() + ", not numeric");
        };
    }
}
