package io.troupe.worker.allreduce;

/**
 * How the all-reduce puts float values on the wire. Whatever the wire format, every peer adds in
 * float32; the format only decides what crosses the network.
 */
public enum WireFormat {
    /** Four bytes per value, exact: the result equals a float32 sum in ring order, scaled by 1/N. */
    FP32(0, Float.BYTES),
    /**
     * Two bytes per value: half the traffic. Every hop rounds the partial sum it forwards to bf16
     * (relative error at most 2^-8), so with N peers the mean carries an absolute error of up to
     * about {@code 2^-8 * ((N-1)/2 + 1) * max|x|}. Fine for gradients (stochastic anyway, and
     * what AdamW normalises); not for parameters or anything that must round-trip exactly.
     *
     * <p>Layout: a frame of n values travels as ceil(n/2) little-endian 32-bit words. With
     * h = floor(n/2), word j &lt; h holds value j in its upper 16 bits and value j+h in its lower
     * 16 bits; if n is odd, one more word holds value n-1 in its upper bits. Pairing j with j+h
     * instead of 2j with 2j+1 lets both ends convert with 32-bit integer operations on contiguous
     * arrays, which the JIT vectorises; the interleaved layout needs 16-bit narrowing and
     * widening that JDK 17's compiler leaves scalar (measured: several times slower).
     */
    BF16(1, Short.BYTES);

    /** Every format moves 4-byte units: one fp32 value, or a pair of bf16 values. */
    static final int UNIT_BYTES = 4;

    private final int id;
    private final int bytesPerElement;

    WireFormat(int id, int bytesPerElement) {
        this.id = id;
        this.bytesPerElement = bytesPerElement;
    }

    /** Bytes one value takes on the wire. */
    public int bytesPerElement() {
        return bytesPerElement;
    }

    /** Units (4-byte words) that {@code values} values take on the wire. */
    int units(int values) {
        return this == FP32 ? values : (values + 1) / 2;
    }

    /** Payload bytes of a frame of {@code values} values. */
    int payloadBytes(int values) {
        return units(values) * UNIT_BYTES;
    }

    /** The code written in frame headers. */
    int id() {
        return id;
    }

    /** The format with header code {@code id}, or null if there is none. */
    static WireFormat ofId(int id) {
        for (WireFormat format : values()) {
            if (format.id == id) {
                return format;
            }
        }
        return null;
    }

    /** Parses {@code fp32} or {@code bf16} (any case), as given on a command line or in config. */
    public static WireFormat parse(String name) {
        for (WireFormat format : values()) {
            if (format.name().equalsIgnoreCase(name)) {
                return format;
            }
        }
        throw new IllegalArgumentException("unknown wire format '" + name + "': expected fp32 or bf16");
    }
}
