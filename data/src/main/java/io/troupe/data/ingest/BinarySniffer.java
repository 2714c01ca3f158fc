package io.troupe.data.ingest;

/**
 * Tells text from binary files the way git and grep do: a NUL byte near the start. Text in any
 * ASCII-compatible encoding never contains one; images, archives, model files and UTF-16 do.
 */
final class BinarySniffer {

    /** How much of a file is inspected. */
    static final int SNIFF_BYTES = 8192;

    private BinarySniffer() {
    }

    /** Whether the first {@code min(length, SNIFF_BYTES)} bytes hold a NUL. */
    static boolean looksBinary(byte[] bytes, int length) {
        int end = Math.min(length, SNIFF_BYTES);
        for (int i = 0; i < end; i++) {
            if (bytes[i] == 0) {
                return true;
            }
        }
        return false;
    }
}
