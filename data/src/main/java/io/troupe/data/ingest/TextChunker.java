package io.troupe.data.ingest;

import java.util.List;

/**
 * Cuts a plain-text file into documents of at most {@code maxBytes} bytes, preferring to cut
 * after a blank line, then after a newline, and only then inside a line (never inside a UTF-8
 * character). A cut is looked for in the second half of the limit, so documents are not
 * needlessly small. No byte is lost: the documents concatenate to the file.
 *
 * <p>Holds at most about {@code maxBytes} plus one read chunk, whatever the file size.
 */
final class TextChunker extends SniffingFramer {

    private final int maxBytes;
    private int part;
    private long line = 1;

    TextChunker(InputFile file, int maxBytes) {
        super(file);
        this.maxBytes = maxBytes;
    }

    @Override
    protected void drain(List<Ingested> out) {
        while (buf.length > maxBytes) {
            emit(cutPoint(), out);
        }
    }

    @Override
    protected void drainRest(List<Ingested> out) {
        drain(out);
        if (buf.length > 0) {
            emit(buf.length, out);
        }
    }

    /** Where the next document ends (exclusive), at most maxBytes in. */
    private int cutPoint() {
        byte[] b = buf.data;
        int floor = maxBytes / 2;
        // after a blank line: "\n\n" or "\n\r\n" ends at p - 1
        for (int p = maxBytes; p > floor; p--) {
            if (b[p - 1] == '\n' && (b[p - 2] == '\n' || (b[p - 2] == '\r' && b[p - 3] == '\n'))) {
                return p;
            }
        }
        for (int p = maxBytes; p > floor; p--) {
            if (b[p - 1] == '\n') {
                return p;
            }
        }
        int p = maxBytes;
        // back off UTF-8 continuation bytes (10xxxxxx) so a character is never split
        while (p > maxBytes - 4 && (b[p] & 0xC0) == 0x80) {
            p--;
        }
        return p;
    }

    private void emit(int end, List<Ingested> out) {
        byte[] bytes = buf.copy(0, end);
        out.add(new RawDocument(file, file.id() + "#" + part, line, bytes));
        part++;
        for (byte x : bytes) {
            if (x == '\n') {
                line++;
            }
        }
        buf.discard(end);
    }
}
