package io.troupe.data.corpus;

import java.util.Objects;

/** Tokens held as ints, for vocabularies too big for 16 bits. */
final class IntTokenSequence implements TokenSequence {

    private final int[] tokens;
    private final int offset;
    private final int length;

    IntTokenSequence(int[] tokens, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, tokens.length);
        this.tokens = tokens;
        this.offset = offset;
        this.length = length;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public int get(long index) {
        return tokens[offset + (int) Objects.checkIndex(index, length)];
    }

    @Override
    public void copyTo(long from, long[] dst, int dstOffset, int count) {
        Objects.checkFromIndexSize(from, count, length);
        Objects.checkFromIndexSize(dstOffset, count, dst.length);
        int src = offset + (int) from;
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = tokens[src + i];
        }
    }

    @Override
    public TokenSequence slice(long from, long to) {
        Objects.checkFromToIndex(from, to, length);
        return new IntTokenSequence(tokens, offset + (int) from, (int) (to - from));
    }

    @Override
    public String toString() {
        return "TokenSequence[int32, length=" + length + "]";
    }
}
