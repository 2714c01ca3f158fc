package io.troupe.model.graph;

/** Element types that Troupe graphs use, with their ONNX {@code TensorProto.DataType} codes. */
public enum DType {
    FLOAT(1, 4),
    DOUBLE(11, 8),
    INT64(7, 8),
    INT32(6, 4),
    BOOL(9, 1),
    UINT8(2, 1),
    FLOAT16(10, 2),
    BFLOAT16(16, 2);

    private final int onnxCode;
    private final int byteSize;

    DType(int onnxCode, int byteSize) {
        this.onnxCode = onnxCode;
        this.byteSize = byteSize;
    }

    /** The ONNX {@code TensorProto.DataType} number. */
    public int onnxCode() {
        return onnxCode;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the types gradients can flow through. */
    public boolean isFloating() {
        return this == FLOAT || this == DOUBLE || this == FLOAT16 || this == BFLOAT16;
    }

    /** True for signed or unsigned integer types. */
    public boolean isInteger() {
        return this == INT64 || this == INT32 || this == UINT8;
    }

    /** Lower-case ONNX spelling, used in messages ("float", "int64"). */
    public String onnxName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
