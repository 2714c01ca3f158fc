package io.troupe.data.ingest;

import java.util.Arrays;
import org.apache.pekko.util.ByteString;

/** A growable byte array the framers accumulate a file's bytes in. */
final class ByteBuf {

    byte[] data = new byte[16384];
    int length;

    void append(ByteString chunk) {
        ensure(length + chunk.size());
        length += chunk.copyToArray(data, length, chunk.size());
    }

    /** Drops the first {@code count} bytes. */
    void discard(int count) {
        System.arraycopy(data, count, data, 0, length - count);
        length -= count;
    }

    byte[] copy(int from, int to) {
        return Arrays.copyOfRange(data, from, to);
    }

    private void ensure(int capacity) {
        if (capacity > data.length) {
            data = Arrays.copyOf(data, Math.max(capacity, data.length * 2));
        }
    }
}
