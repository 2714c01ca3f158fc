package io.troupe.worker.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Creates ONNX Runtime tensors that are zero-copy views over direct buffers, and owns them: one
 * {@link #close()} releases every tensor it made, in reverse order of creation.
 *
 * <p>Closing a view releases only ORT's tensor header; the floats belong to the Java buffer.
 */
final class TensorViews implements AutoCloseable {

    private final OrtEnvironment env;
    private final List<OnnxTensor> made = new ArrayList<>();

    TensorViews(OrtEnvironment env) {
        this.env = env;
    }

    /** A float tensor over {@code buffer}'s remaining elements, which must number exactly the shape's size. */
    OnnxTensor floats(FloatBuffer buffer, long[] shape) throws OrtException {
        return keep(OnnxTensor.createTensor(env, requireDirect(buffer), shape));
    }

    /** An int64 tensor over {@code buffer}'s remaining elements, which must number exactly the shape's size. */
    OnnxTensor longs(LongBuffer buffer, long[] shape) throws OrtException {
        return keep(OnnxTensor.createTensor(env, requireDirect(buffer), shape));
    }

    private OnnxTensor keep(OnnxTensor tensor) {
        // ORT copies a heap buffer into a private direct one; a copy would break the in-place contract.
        if (tensor.ownsBuffer()) {
            tensor.close();
            throw new IllegalStateException("ONNX Runtime copied a buffer that should have been wrapped in place");
        }
        made.add(tensor);
        return tensor;
    }

    private static <B extends java.nio.Buffer> B requireDirect(B buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("tensor views need a direct buffer, got " + buffer);
        }
        return buffer;
    }

    @Override
    public void close() {
        for (int i = made.size() - 1; i >= 0; i--) {
            made.get(i).close();
        }
        made.clear();
    }
}
