package io.troupe.model.io;

import java.util.Arrays;
import java.util.Optional;

/**
 * The element types a safetensors header may name, with their sizes in bytes. Every one is
 * known so that a file's layout can be checked whole; {@link #isFloat()} says which ones
 * {@link Safetensors#floats} converts to float.
 */
public enum SafetensorsDtype {
    /** IEEE double. */
    F64(8, true),
    /** IEEE single. */
    F32(4, true),
    /** IEEE half. */
    F16(2, true),
    /** bfloat16: the upper 16 bits of a float. */
    BF16(2, true),
    /** Signed integers. */
    I64(8, false), I32(4, false), I16(2, false), I8(1, false),
    /** Unsigned integers. */
    U64(8, false), U32(4, false), U16(2, false), U8(1, false),
    /** One byte per boolean. */
    BOOL(1, false),
    /** 8-bit floats (stored, not converted). */
    F8_E4M3(1, false), F8_E5M2(1, false);

    private final int bytes;
    private final boolean isFloat;

    SafetensorsDtype(int bytes, boolean isFloat) {
        this.bytes = bytes;
        this.isFloat = isFloat;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Whether {@link Safetensors#floats} can read it. */
    public boolean isFloat() {
        return isFloat;
    }

    /** The dtype a header spells {@code name}, or empty if there is none. */
    public static Optional<SafetensorsDtype> parse(String name) {
        return Arrays.stream(values()).filter(d -> d.name().equals(name)).findFirst();
    }
}
