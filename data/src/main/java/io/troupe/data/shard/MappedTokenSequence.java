package io.troupe.data.shard;

import io.troupe.data.corpus.TokenSequence;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The tokens of several shard files as one sequence, memory-mapped: the operating system pages
 * tokens in as samplers touch them, so a dataset larger than RAM (or the heap) trains. Each file
 * is mapped in segments of at most 1 GiB (a Java buffer holds at most 2 GiB).
 *
 * <p>Thread-safe: reads use absolute positions only.
 */
public final class MappedTokenSequence implements TokenSequence {

    private static final long SEGMENT_BYTES = 1L << 30;

    private final ByteBuffer[] segments;
    private final long[] starts; // starts[i]: global index of segment i's first token; last = total
    private final TokenWidth width;
    private final long offset;
    private final long length;

    private MappedTokenSequence(ByteBuffer[] segments, long[] starts, TokenWidth width, long offset, long length) {
        this.segments = segments;
        this.starts = starts;
        this.width = width;
        this.offset = offset;
        this.length = length;
    }

    /**
     * Maps files read-only, in order.
     *
     * @param files the shard files
     * @param width how ids are stored; every file's size must be a multiple of it
     * @throws IOException if a file cannot be opened or mapped
     */
    public static MappedTokenSequence map(List<Path> files, TokenWidth width) throws IOException {
        List<ByteBuffer> segments = new ArrayList<>();
        List<Long> starts = new ArrayList<>();
        long total = 0;
        long segmentBytes = SEGMENT_BYTES - SEGMENT_BYTES % width.bytes();
        for (Path file : files) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = channel.size();
                if (size % width.bytes() != 0) {
                    throw new IOException(file + " has " + size + " bytes, not a whole number of "
                            + width.id() + " tokens");
                }
                for (long pos = 0; pos < size; pos += segmentBytes) {
                    long n = Math.min(segmentBytes, size - pos);
                    // A mapping stays valid after its channel is closed.
                    segments.add(channel.map(FileChannel.MapMode.READ_ONLY, pos, n).order(ByteOrder.LITTLE_ENDIAN));
                    starts.add(total);
                    total += n / width.bytes();
                }
            }
        }
        starts.add(total);
        long[] startArray = starts.stream().mapToLong(Long::longValue).toArray();
        return new MappedTokenSequence(segments.toArray(new ByteBuffer[0]), startArray, width, 0, total);
    }

    /** How ids are stored. */
    public TokenWidth width() {
        return width;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public int get(long index) {
        long global = offset + Objects.checkIndex(index, length);
        int s = segmentOf(global);
        return read(segments[s], global - starts[s]);
    }

    @Override
    public void copyTo(long from, long[] dst, int dstOffset, int count) {
        Objects.checkFromIndexSize(from, count, length);
        Objects.checkFromIndexSize(dstOffset, count, dst.length);
        long global = offset + from;
        int done = 0;
        int s = count == 0 ? 0 : segmentOf(global);
        while (done < count) {
            ByteBuffer segment = segments[s];
            long local = global + done - starts[s];
            int n = (int) Math.min(count - done, starts[s + 1] - (global + done));
            if (width == TokenWidth.UINT16) {
                int pos = (int) (local * 2);
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + done + i] = segment.getShort(pos + 2 * i) & 0xFFFF;
                }
            } else {
                int pos = (int) (local * 4);
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + done + i] = segment.getInt(pos + 4 * i) & 0xFFFFFFFFL;
                }
            }
            done += n;
            s++;
        }
    }

    @Override
    public TokenSequence slice(long from, long to) {
        Objects.checkFromToIndex(from, to, length);
        return new MappedTokenSequence(segments, starts, width, offset + from, to - from);
    }

    @Override
    public String toString() {
        return "TokenSequence[" + width.id() + ", mapped, length=" + length + "]";
    }

    private int segmentOf(long global) {
        int i = Arrays.binarySearch(starts, global);
        // An exact hit on a start is that segment, except for empty trailing boundaries; a miss
        // gives the insertion point, one past the segment holding the index.
        if (i >= 0) {
            while (i + 1 < starts.length && starts[i + 1] == global) {
                i++;
            }
            return i;
        }
        return -i - 2;
    }

    private int read(ByteBuffer segment, long local) {
        return width == TokenWidth.UINT16
                ? segment.getShort((int) (local * 2)) & 0xFFFF
                : segment.getInt((int) (local * 4));
    }
}
